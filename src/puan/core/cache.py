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

_registry: list[TimedCopy] = []


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


def invalidate_all() -> None:
    """Forget every process-local copy (tests call this between tests: each test's
    database holds different rows)."""
    for copy in _registry:
        copy.invalidate()
