"""Loading the demo district into a fresh embedded database. Judged by: < 60 s; the ratio
printed is the 60-second budget over the time taken."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, report

BUDGET_SECONDS = 60.0


def main() -> int:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "PUAN_DEBUG": "1", "PUAN_DATA_DIR": data_dir, "DATABASE_URL": ""}
        puan = [sys.executable, "-m", "puan.cli"]
        subprocess.run([*puan, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
        started = time.perf_counter()
        out = subprocess.run(
            [*puan, "load_demo", "--cases", "0"], env=env, check=True, cwd=ROOT, capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(data_dir).glob("puan.sqlite3*"))
    ok = report(
        "demo-load",
        {
            "loaded": out.stdout.strip().splitlines()[0],
            "wall time (incl. process start)": f"{seconds:.1f} s",
            "database size": f"{size / 1e6:.1f} MB",
            "requirement": f"< {BUDGET_SECONDS:.0f} s",
        },
        "budget / time taken",
        BUDGET_SECONDS / seconds,
        1.0,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
