from __future__ import annotations

import sqlite3
import time

import pytest
from django.db import connection, connections

from puan.core import sqlite_wal
from puan.core.backends.sqlite3.base import qmark
from puan.core.sqlite_wal import Checkpointer

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own backend and log")


@sqlite_only
@pytest.mark.django_db
def test_the_backend_rewrites_a_statements_placeholders_once_and_as_django_does():
    assert type(connections["default"]).__module__ == "puan.core.backends.sqlite3.base"
    statement = "SELECT %s, '100%%', %s || %s"
    qmark.cache_clear()
    for _ in range(3):
        with connection.cursor() as cursor:
            cursor.execute(statement, [1, "a", "b"])
            assert cursor.fetchone() == (1, "100%", "ab")
    assert qmark(statement) == "SELECT ?, '100%', ? || ?"
    assert qmark.cache_info().misses == 1 and qmark.cache_info().hits >= 2
    with connection.cursor() as cursor:  # named placeholders still take Django's own path
        cursor.execute("SELECT %(a)s + %(b)s", {"a": 2, "b": 3})
        assert cursor.fetchone() == (5,)


def _wal_database(path, rows: int) -> sqlite3.Connection:
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # nothing copies the log but the thread
    writer.execute("CREATE TABLE t (v BLOB)")
    for _ in range(rows):
        writer.execute("INSERT INTO t VALUES (?)", [b"x" * 4000])
    return writer


def test_it_copies_the_log_back_into_the_database_from_its_own_thread(tmp_path):
    path = tmp_path / "wal.sqlite3"
    writer = _wal_database(path, rows=40)
    checkpointer = Checkpointer(str(path), interval=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while checkpointer.copied < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        checkpointer.stop()
    assert checkpointer.copied >= 40
    # Everything the log held is in the database: a checkpoint now finds nothing left.
    _, logged, copied = writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert logged == copied
    assert writer.execute("SELECT COUNT(*) FROM t").fetchone() == (40,)


def test_it_keeps_going_when_a_checkpoint_fails(tmp_path, caplog):
    checkpointer = Checkpointer(str(tmp_path / "not-a-database.sqlite3"), interval=0.02)
    (tmp_path / "not-a-database.sqlite3").write_bytes(b"this is not a database file" * 100)
    checkpointer.start()
    time.sleep(0.3)
    checkpointer.stop()
    assert not checkpointer._thread.is_alive()
    failures = [r for r in caplog.records if "WAL checkpoint" in r.getMessage()]
    assert len(failures) == 1  # said once, not at every turn


def test_it_runs_one_checkpointer_per_process_and_none_when_switched_off(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_wal, "_running", {})
    _wal_database(tmp_path / "one.sqlite3", rows=1)
    assert sqlite_wal.start_for_this_process(str(tmp_path / "one.sqlite3"), 0) is None
    first = sqlite_wal.start_for_this_process(str(tmp_path / "one.sqlite3"), 0.05)
    try:
        assert sqlite_wal.start_for_this_process(str(tmp_path / "one.sqlite3"), 0.05) is first
    finally:
        first.stop()
