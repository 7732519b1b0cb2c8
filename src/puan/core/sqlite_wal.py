"""Copies SQLite's write-ahead log back into the database from a thread of the web process.

Left to itself, SQLite makes the request whose commit brings the log past
`wal_autocheckpoint` pages copy the whole log into the database and wait for the disk to
confirm it: tens of milliseconds for every thousand pages, spent by one request while the
reports queued behind its worker wait too. A thread that copies whatever has gathered every
half second does the same work in small pieces, and off the requests' path: SQLite leaves
the interpreter free while it copies and syncs, so the worker goes on serving. The request
connections keep their `wal_autocheckpoint` as a safety net, should the thread fall behind.

A PASSIVE checkpoint copies what no reader still needs and never waits for a lock, so it
never holds up a writer or a reader. PostgreSQL needs none of this: its own checkpointer
process does the same.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Checkpointer:
    """Every `interval` seconds, copy the log of the WAL database at `path` back into it."""

    path: str
    interval: float
    # (pages in the log, pages of it copied back) after the last checkpoint, for the tests
    last: tuple[int, int] | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Checkpointer:
        self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        """One PASSIVE checkpoint. SQLite answers with the pages in the log and how many
        of them are back in the database (by anyone, so far); -1 when another process is
        checkpointing just then, or the database is not in WAL mode."""
        _busy, logged, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if logged >= 0:
            self.last = (logged, copied)

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            log.warning("WAL checkpoints stay with the requests: cannot open %s (%s)", self.path, exc)
            return
        failed = False
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.checkpoint(connection)
                    failed = False
                except sqlite3.Error as exc:
                    if not failed:  # say it once, not twice a second
                        log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
                    failed = True
        finally:
            connection.close()


_running: dict[int, Checkpointer] = {}  # process id → its checkpointer
_lock = threading.Lock()
_fork_hooks = False
_paused: list[Checkpointer] = []  # stopped for a fork, to start again on both sides of it


def _before_fork() -> None:
    """No thread may be inside SQLite, nor a connection open, when the process forks: the
    child would inherit SQLite's locks of a connection it does not have (and a held mutex
    for ever). The thread stops and closes its connection, and starts again after."""
    running = _running.pop(os.getpid(), None)
    if running is not None:
        running.stop()
        _paused.append(running)


def _after_fork() -> None:
    while _paused:
        stopped = _paused.pop()
        start_for_this_process(stopped.path, stopped.interval)


def start_for_this_process(path: str, interval: float) -> Checkpointer | None:
    """Start the checkpoint thread of this process for the database at `path` (one per
    process; a forked worker starts its own), unless `interval` is 0."""
    if interval <= 0:
        return None
    with _lock:
        running = _running.get(os.getpid())
        if running is None:
            running = _running[os.getpid()] = Checkpointer(path, interval).start()
        return running


def start_for_default_database() -> Checkpointer | None:
    """The web process's checkpointer, when the default database is SQLite (in this
    process, and in any worker forked from it)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("sqlite3"):
        return None
    interval = settings.PUAN_SQLITE_CHECKPOINT_MS / 1000

    global _fork_hooks
    if interval > 0 and not _fork_hooks:
        # A worker forked from this process (gunicorn --preload) runs its own thread.
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)
        _fork_hooks = True
    return start_for_this_process(str(database["NAME"]), interval)
