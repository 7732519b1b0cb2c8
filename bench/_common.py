"""Shared bits for benchmarks: machine description and a uniform way to print results."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "puan.settings")
os.environ.setdefault("PUAN_DEBUG", "1")

import django  # noqa: E402

django.setup()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def report(name: str, figures: dict[str, str], ratio_name: str, ratio: float, threshold: float) -> bool:
    ok = ratio >= threshold
    print(f"[{name}] machine: {machine()}")
    for key, value in figures.items():
        print(f"[{name}] {key}: {value}")
    print(f"[{name}] ratio {ratio_name}: {ratio:.2f} (needs ≥ {threshold:g}) → {'PASS' if ok else 'FAIL'}")
    return ok
