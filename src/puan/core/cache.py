"""Reference data kept in each process for a short time.

Risk rules, SLA policies, the working calendar, categories and the administrative units
change rarely (an administrator's edit) and are read on every intake and escalation. Each
process keeps its copy for `seconds`; an edit clears this process's copy when its
transaction commits, and every other process picks it up within `seconds`. Readers that
miss an entry in a cached copy (a unit created a moment ago) fall back to the database,
so a stale copy can only be late, never wrong about what exists.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_SECONDS = 60.0

_registry: list[TimedCopy] = []


class TimedCopy(Generic[T]):
    """`load()`'s result, reloaded when older than `seconds` or after `invalidate()`."""

    def __init__(self, load: Callable[[], T], *, seconds: float = DEFAULT_SECONDS):
        self._load = load
        self.seconds = seconds
        self._lock = threading.Lock()
        self._value: tuple[float, T] | None = None
        _registry.append(self)

    def get(self) -> T:
        now = time.monotonic()
        held = self._value
        if held is not None and now - held[0] < self.seconds:
            return held[1]
        value = self._load()
        with self._lock:
            self._value = (now, value)
        return value

    def invalidate(self) -> None:
        with self._lock:
            self._value = None


def invalidate_all() -> None:
    """Forget every process-local copy (tests call this between tests: each test's
    database holds different rows)."""
    for copy in _registry:
        copy.invalidate()
