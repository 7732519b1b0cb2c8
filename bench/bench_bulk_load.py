"""Bulk-loading 1,000,000 realistic cases (with their several million timeline events)
into a fresh demo district: the embedded SQLite database, and PostgreSQL when one answers
(PUAN_BENCH_POSTGRES_URL, else a local server at 127.0.0.1:5432, in a throwaway database).
Judged by: < 300 s on each; the ratio printed is the 300-second budget over the slowest
time taken."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _common import ROOT, report

BUDGET_SECONDS = 300.0
COUNT = int(os.environ.get("PUAN_BENCH_BULK_COUNT", "1000000"))
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def run(puan: list[str], args: list[str], env: dict) -> str:
    done = subprocess.run([*puan, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"puan {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def load(env: dict) -> tuple[float, str]:
    """Migrate, load the district without history, then time `load-cases`."""
    puan = [sys.executable, "-m", "puan.cli"]
    run(puan, ["migrate", "-v0"], env)
    run(puan, ["load_demo", "--cases", "0"], env)
    started = time.perf_counter()
    out = run(puan, ["load_cases", "--count", str(COUNT), "--seed", "1"], env)
    seconds = time.perf_counter() - started
    summary = [line for line in out.splitlines() if "条记录/秒" in line]
    return seconds, summary[-1] if summary else out.strip()


def postgres_server() -> str | None:
    url = os.environ.get("PUAN_BENCH_POSTGRES_URL")
    if url:
        return url
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return LOCAL_POSTGRES
    except OSError:
        return None


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def rate(line: str) -> str:
    found = re.search(r"([\d,]+) 件/秒，([\d,]+) 条记录/秒", line)
    return f"{found.group(1)} cases/s, {found.group(2)} events/s" if found else line


def main() -> int:
    figures: dict[str, str] = {
        "cases loaded": f"{COUNT:,}",
        "requirement": f"< {BUDGET_SECONDS:.0f} s on each database",
    }
    slowest = 0.0
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "PUAN_DEBUG": "1", "PUAN_DATA_DIR": data_dir, "DATABASE_URL": ""}
        seconds, line = load(env)
        size = sum(p.stat().st_size for p in Path(data_dir).glob("puan.sqlite3*"))
        figures["SQLite"] = f"{seconds:.1f} s ({rate(line)}), database {size / 1e9:.2f} GB"
        slowest = max(slowest, seconds)

    server = postgres_server()
    if server is None:
        figures["PostgreSQL"] = "skipped (no server at 127.0.0.1:5432 and PUAN_BENCH_POSTGRES_URL unset)"
    else:
        name = f"puan_bench_{uuid.uuid4().hex[:8]}"
        admin(server, f'CREATE DATABASE "{name}"')
        try:
            env = {**os.environ, "PUAN_DEBUG": "1", "DATABASE_URL": with_database(server, name)}
            seconds, line = load(env)
            figures["PostgreSQL"] = f"{seconds:.1f} s ({rate(line)})"
            slowest = max(slowest, seconds)
        finally:
            admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    figures["slowest (incl. process start)"] = f"{slowest:.1f} s"
    ok = report("bulk-load", figures, "budget / slowest time taken", BUDGET_SECONDS / slowest, 1.0)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
