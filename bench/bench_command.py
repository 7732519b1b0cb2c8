"""The command-centre dashboard with a million cases: every panel endpoint over HTTP
(gunicorn, 2 workers), as the district dispatcher and as a street leader.

Each database is fresh — a SQLite file in a temporary `PUAN_DATA_DIR`, or a throwaway
PostgreSQL database — migrated, loaded with the demo district (`puan load-demo --cases 0`)
and `PUAN_BENCH_CASES` cases with full timelines (`puan load-cases`, default 1,000,000),
and its roll-ups built (`puan rollup --rebuild`). Then every endpoint is asked
`PUAN_BENCH_REQUESTS` times (default 100) by `PUAN_BENCH_CLIENTS` concurrent clients
(default 2), after a warm-up, and p50/p95 printed per endpoint and user.

Judged by: every endpoint's p95 < 200 ms, on SQLite and on PostgreSQL, with no error
answers. Printed beside them, as the yardstick: the time of a plain
`SELECT COUNT(*) FROM cases_case` on the same database, and an authenticated no-op
request (`GET /api/v1/me`) through the same server.

PostgreSQL is skipped when no server answers at `PUAN_BENCH_PG_URL`. To iterate on the
dashboard without reloading a million cases each time, `PUAN_BENCH_COMMAND_SQLITE_DIR`
names a data directory and `PUAN_BENCH_COMMAND_PG_DB` a database to load once and keep.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from _common import ROOT, machine
from bench_intake import PG_URL, Connection, _base_env, _postgres_answers, gunicorn

CASES = int(os.environ.get("PUAN_BENCH_CASES", "1000000"))
REQUESTS = int(os.environ.get("PUAN_BENCH_REQUESTS", "100"))
CLIENTS = int(os.environ.get("PUAN_BENCH_CLIENTS", "2"))
WARMUP = 5
BURST = 2_000  # cases added after the rebuild, to time an incremental fold
P95_LIMIT_MS = 200.0
SQLITE_DIR = os.environ.get("PUAN_BENCH_COMMAND_SQLITE_DIR", "")
PG_DB = os.environ.get("PUAN_BENCH_COMMAND_PG_DB", "")

FIXTURES = """
import json
import django
django.setup()
from django.db import connection
from puan.accounts.models import User
from puan.accounts.roles import Role
from puan.accounts.services import token_issue, user_create
from puan.cases.models import CommandAlert
from puan.org.models import Unit, UnitLevel

street = Unit.objects.defer("boundary").filter(level=UnitLevel.STREET).order_by("path").first()
community = Unit.objects.defer("boundary").filter(parent=street).order_by("path").first()
grid = Unit.objects.defer("boundary").filter(parent=community).order_by("path").first()
leader = User.objects.filter(username="bench_street_leader").first() or user_create(
    username="bench_street_leader", password="Bench-Leader-2026", unit=street, roles=[Role.LEADER]
)
dispatcher = User.objects.get(username="dispatcher")
last_alert = CommandAlert.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
print(json.dumps({
    "dispatcher": token_issue(user=dispatcher)[0],
    "leader": token_issue(user=leader)[0],
    "street": street.pk, "street_name": street.name, "community": community.pk, "grid": grid.pk,
    "last_alert": last_alert,
}))
"""

YARDSTICK = """
import json, statistics, time
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT COUNT(*) FROM cases_case")
    count = cursor.fetchone()[0]
    times = []
    for _ in range(7):
        started = time.perf_counter()
        cursor.execute("SELECT COUNT(*) FROM cases_case")
        cursor.fetchone()
        times.append((time.perf_counter() - started) * 1000)
print(json.dumps({"count": count, "median_ms": statistics.median(times), "max_ms": max(times)}))
"""


def _load() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _run(args: list[str], env: dict[str, str], what: str, timeout: float = 4 * 3600) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout, time.perf_counter() - started


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "puan.cli", *args]


def prepare(label: str, env: dict[str, str]) -> dict:
    """Migrate, load, roll up (skipping what a kept database already has)."""
    _run(_cli("migrate", "--no-input", "-v", "0"), env, "migrate")
    loaded, _ = _run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from puan.cases.models import Case; print(Case.objects.count())",
        ],
        env,
        "count",
    )
    have = int(loaded.strip().splitlines()[-1])
    if have < CASES:
        _, seconds = _run(_cli("load_demo", "--cases", "0"), env, "load_demo")
        print(f"[command] {label}: demo district loaded in {seconds:.1f} s", flush=True)
        out, seconds = _run(_cli("load_cases", "--count", str(CASES - have)), env, "load_cases")
        summary = [line for line in out.splitlines() if line.startswith("已加载")] or out.strip().splitlines()[-1:]
        print(f"[command] {label}: {summary[-1]} ({seconds:.0f} s)", flush=True)
        out, seconds = _run(_cli("rollup", "--rebuild"), env, "rollup --rebuild")
        for line in out.strip().splitlines():
            print(f"[command] {label}: {line}", flush=True)
    else:
        print(f"[command] {label}: {have:,} cases already loaded; folding what is new", flush=True)
    out, seconds = _run(_cli("rollup"), env, "rollup")
    print(f"[command] {label}: {out.strip().splitlines()[-1]}", flush=True)
    # The incremental fold's cost: a burst of new cases (a busy day's worth), folded at once.
    _run(_cli("load_cases", "--count", str(BURST), "--seed", str(int(time.time()))), env, "load_cases burst")
    out, seconds = _run(_cli("rollup"), env, "rollup after the burst")
    fold = out.strip().splitlines()[-1]
    print(f"[command] {label}: after {BURST:,} more cases: {fold}", flush=True)
    out, _ = _run([sys.executable, "-c", FIXTURES], env, "fixtures")
    return {**json.loads(out.strip().splitlines()[-1]), "fold": fold}


def yardstick(env: dict[str, str]) -> dict:
    out, _ = _run([sys.executable, "-c", YARDSTICK], env, "count(*)")
    return json.loads(out.strip().splitlines()[-1])


# --- the requests -------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    bytes: int = 0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self) -> str:
        size = self.bytes / max(1, len(self.latencies)) / 1024
        return (
            f"p50 {self.pct(50):6.1f} ms  p95 {self.pct(95):6.1f} ms  max {self.pct(100):6.1f} ms"
            f"  ({len(self.latencies)} requests, {size:.0f} KiB each, {len(self.errors)} errors)"
        )


def endpoints(fx: dict, *, as_leader: bool) -> list[tuple[str, str]]:
    year = (date.today() - timedelta(days=364)).isoformat()
    out = [
        ("kpis (30 days)", "/api/v1/command/kpis"),
        ("kpis (365 days)", f"/api/v1/command/kpis?{urlencode({'from': year})}"),
        ("map on-time rate", "/api/v1/command/map?metric=on_time_rate"),
        ("map overdue now", "/api/v1/command/map?metric=overdue"),
        ("hexes (30 days)", "/api/v1/command/hexes"),
        ("hexes (365 days)", f"/api/v1/command/hexes?{urlencode({'from': year})}"),
        ("alerts (latest)", "/api/v1/command/alerts"),
        ("alerts (poll after)", f"/api/v1/command/alerts?after={max(0, fx['last_alert'] - 3)}"),
        ("departments", "/api/v1/command/departments"),
        ("trend (30 days)", "/api/v1/command/trend"),
    ]
    # The drill-down: the leader's street's community, and its grid.
    out += [
        ("map of a community", f"/api/v1/command/map?unit={fx['community']}&metric=registered"),
        ("kpis of a grid", f"/api/v1/command/kpis?unit={fx['grid']}"),
    ]
    if not as_leader:
        out.insert(3, ("map of a street", f"/api/v1/command/map?unit={fx['street']}&metric=red"))
    return out


def drive(port: int, token: str, path: str, count: int) -> Result:
    """`count` requests by CLIENTS closed-loop clients."""
    result = Result(path)
    lock = threading.Lock()
    per_client = [count // CLIENTS + (1 if i < count % CLIENTS else 0) for i in range(CLIENTS)]

    def client(n: int) -> None:
        conn = Connection(port)
        mine: list[float] = []
        errors: list[str] = []
        size = 0
        for _ in range(n):
            started = time.perf_counter()
            try:
                status, body = conn.request("GET", path, b"", token=token)
            except OSError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            mine.append(time.perf_counter() - started)
            size += len(body)
            if status != 200:
                errors.append(f"{status}: {body[:200].decode('utf-8', 'replace')}")
        conn.close()
        with lock:
            result.latencies += mine
            result.errors += errors
            result.bytes += size

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in per_client]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result


def bench_database(label: str, env: dict[str, str], work: Path) -> tuple[bool, list[str]]:
    started = time.perf_counter()
    fx = prepare(label, env)
    print(f"[command] {label}: prepared in {time.perf_counter() - started:.0f} s", flush=True)
    count = yardstick(env)
    lines = [
        f"yardstick SELECT COUNT(*) FROM cases_case ({count['count']:,} rows): "
        f"median {count['median_ms']:.1f} ms, max {count['max_ms']:.1f} ms",
        f"incremental fold after {BURST:,} new cases: {fx['fold']}",
    ]
    ok = True
    with gunicorn(env, work / f"gunicorn-{label}.log") as server:
        noop = drive(server.port, fx["dispatcher"], "/api/v1/me", REQUESTS)
        lines.append(f"yardstick GET /api/v1/me (authenticated no-op)        {noop.line()}")
        for who, token, as_leader in (
            ("dispatcher", fx["dispatcher"], False),
            (f"leader of {fx['street_name']}", fx["leader"], True),
        ):
            for name, path in endpoints(fx, as_leader=as_leader):
                drive(server.port, token, path, WARMUP)
                result = drive(server.port, token, path, REQUESTS)
                passed = result.pct(95) < P95_LIMIT_MS and not result.errors and result.latencies
                ok = ok and bool(passed)
                line = f"{who:>18s} {name:<22s} {result.line()} → {'PASS' if passed else 'FAIL'}"
                lines.append(line)
                print(f"[command] {label}: {line}", flush=True)
                for error in result.errors[:3]:
                    print(f"[command] {label}:   error: {error}")
    log = (work / f"gunicorn-{label}.log").read_text(errors="replace")
    if "Traceback" in log:
        print(f"[command] {label}: the server logged errors:\n{log[-3000:]}")
        ok = False
    return ok, lines


@contextlib.contextmanager
def sqlite_env() -> Iterator[tuple[dict[str, str], Path]]:
    with tempfile.TemporaryDirectory(prefix="puan-bench-command-") as tmp:
        work = Path(SQLITE_DIR or tmp)
        work.mkdir(parents=True, exist_ok=True)
        env = _base_env(work, "")
        if SQLITE_DIR:
            env.update(_kept_secrets(work))
        yield env, Path(tmp)


@contextlib.contextmanager
def postgres_env() -> Iterator[tuple[dict[str, str], Path]]:
    import psycopg

    name = PG_DB or f"puan_bench_command_{os.getpid()}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(PG_URL)._replace(path=f"/{name}"))
    try:
        with tempfile.TemporaryDirectory(prefix="puan-bench-command-pg-") as tmp:
            env = _base_env(Path(tmp), url)
            if PG_DB:
                env.update(_kept_secrets(Path(tempfile.gettempdir()) / f"puan-bench-{name}"))
            yield env, Path(tmp)
    finally:
        if not PG_DB:
            with psycopg.connect(PG_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _kept_secrets(where: Path) -> dict[str, str]:
    """A kept database needs the same keys every run (encrypted phone numbers)."""
    where.mkdir(parents=True, exist_ok=True)
    path = where / "bench-secrets.json"
    if not path.exists():
        import secrets

        path.write_text(
            json.dumps({"PUAN_SECRET_KEY": secrets.token_urlsafe(48), "PUAN_PII_KEY": secrets.token_urlsafe(48)})
        )
    return json.loads(path.read_text())


def main() -> int:
    print(f"[command] machine: {machine()}")
    print(f"[command] load average (1, 5, 15 min) before: {_load()}")
    print(f"[command] {CASES:,} cases; {REQUESTS} requests per endpoint and user, {CLIENTS} concurrent clients")
    runs = [("SQLite", sqlite_env)]
    if _postgres_answers():
        runs.append(("PostgreSQL", postgres_env))
    else:
        print(f"[command] PostgreSQL: no server answers at {PG_URL}; skipped")
    verdicts = []
    for label, make_env in runs:
        with make_env() as (env, work):
            verdicts.append((label, *bench_database(label, env, work)))
    print(f"[command] load average (1, 5, 15 min) after: {_load()}")
    ok = True
    for label, passed, lines in verdicts:
        for line in lines:
            print(f"[command/{label}] {line}")
        print(f"[command/{label}] every endpoint p95 < {P95_LIMIT_MS:g} ms → {'PASS' if passed else 'FAIL'}")
        ok = ok and passed
    print(f"[command] overall → {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
