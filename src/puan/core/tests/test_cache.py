from __future__ import annotations

from puan.core import cache
from puan.core.cache import TimedCopy, invalidate_all


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def counting_copy(seconds=60.0):
    loads = []

    def load():
        loads.append(1)
        return len(loads)

    return TimedCopy(load, seconds=seconds), loads


def test_it_keeps_a_copy_until_it_is_older_than_its_time(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(cache.time, "monotonic", clock)
    copy, loads = counting_copy(seconds=60)
    assert copy.get() == 1 and copy.get() == 1
    clock.now += 59.9
    assert copy.get() == 1
    clock.now += 0.2
    assert copy.get() == 2 and len(loads) == 2


def test_it_reloads_after_an_invalidation_of_one_or_of_all():
    first, _ = counting_copy()
    second, _ = counting_copy()
    assert (first.get(), second.get()) == (1, 1)
    first.invalidate()
    assert (first.get(), second.get()) == (2, 1)
    invalidate_all()
    assert (first.get(), second.get()) == (3, 2)


def test_it_does_not_keep_a_load_that_an_invalidation_overtook():
    copy = None
    loads = []

    def load():
        loads.append(1)
        if len(loads) == 1:
            copy.invalidate()  # an edit commits while the first load is still reading
        return len(loads)

    copy = TimedCopy(load)
    assert copy.get() == 1  # the caller gets what it read…
    assert copy.get() == 2  # …but the next reader loads afresh
    assert copy.get() == 2
