"""Reference data kept in each process for a short time.

Risk rules, SLA policies, the working calendar, categories and the administrative units
change rarely (an administrator's edit) and are read on every intake and escalation. Each
process keeps its copy for `seconds`. A copy names the models it is made of: saving or
deleting one of their rows, anywhere (admin, services, shell), clears this process's copy
when the transaction commits, and every other process picks the change up within
`seconds`. Writes that send no signals (`bulk_create`, `QuerySet.update`) call
`invalidate()` themselves. Readers that miss an entry in a cached copy (a unit created a
moment ago) fall back to the database, so a stale copy can only be late, never wrong about
what exists.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from django.db import transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

DEFAULT_SECONDS = 60.0

_registry: list[TimedCopy | VersionedCopy] = []


class TimedCopy(Generic[T]):
    """`load()`'s result, reloaded when older than `seconds` or after `invalidate()`;
    `depends_on` names the models ("app_label.Model") whose writes invalidate it."""

    def __init__(self, load: Callable[[], T], *, seconds: float = DEFAULT_SECONDS, depends_on: Iterable[str] = ()):
        self._load = load
        self.seconds = seconds
        self._lock = threading.Lock()
        self._value: tuple[float, T] | None = None
        # Bumped by every invalidation: a load that an invalidation overtook is not kept.
        self._generation = 0
        _registry.append(self)
        for label in depends_on:
            for signal in (post_save, post_delete):
                signal.connect(self._changed, sender=label, weak=False, dispatch_uid=(id(self), label, id(signal)))

    def get(self) -> T:
        now = time.monotonic()
        held = self._value
        if held is not None and now - held[0] < self.seconds:
            return held[1]
        generation = self._generation
        value = self._load()
        with self._lock:
            if generation == self._generation:
                self._value = (now, value)
        return value

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._value = None

    def _changed(self, sender, **kwargs) -> None:
        transaction.on_commit(self.invalidate)


class VersionedCopy(Generic[T]):
    """`load(version)`'s result, kept while `version()` — a cheap read of a counter that
    every change bumps — returns the same; asked at most every `check_seconds`. For copies
    too costly to rebuild on a timer (the grid index, simplified outlines): a change shows
    within `check_seconds`, and nothing is rebuilt without one."""

    def __init__(self, load: Callable[[object], T], *, version: Callable[[], object], check_seconds: float):
        self._load = load
        self._version = version
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._held: tuple[object, T] | None = None
        self._checked_at = 0.0
        _registry.append(self)

    def get(self) -> T:
        now = time.monotonic()
        held = self._held
        if held is not None and now - self._checked_at < self.check_seconds:
            return held[1]
        version = self._version()
        with self._lock:
            if self._held is None or self._held[0] != version:
                self._held = (version, self._load(version))
            self._checked_at = now
            return self._held[1]

    def recheck(self) -> None:
        """Ask the version at the next `get`, as if `check_seconds` had passed."""
        self._checked_at = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._held = None
            self._checked_at = 0.0


def invalidate_all() -> None:
    """Forget every process-local copy (tests call this between tests: each test's
    database holds different rows)."""
    for copy in _registry:
        copy.invalidate()
