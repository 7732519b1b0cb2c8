"""The database backends as configured: SQLite's placeholder cache and log checkpoints,
PostgreSQL's server-side binding."""

from __future__ import annotations

import os
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
        while not (checkpointer.last and checkpointer.last[1] >= 40) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        checkpointer.stop()
    logged, copied = checkpointer.last
    assert logged == copied >= 40  # the writer checkpoints never: the thread copied it all
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


def test_it_stops_for_a_fork_and_each_side_runs_its_own_thread_after(tmp_path, monkeypatch):
    """A worker forked from a process that runs the thread (gunicorn --preload) must not
    inherit an open connection, nor a thread caught inside SQLite: the thread stops and
    closes its connection before the fork, and parent and child each start one after."""
    monkeypatch.setattr(sqlite_wal, "_running", {})
    monkeypatch.setattr(sqlite_wal, "_paused", [])
    path = tmp_path / "fork.sqlite3"
    _wal_database(path, rows=20)
    first = sqlite_wal.start_for_this_process(str(path), 0.02)
    sqlite_wal._before_fork()
    assert not first._thread.is_alive() and os.getpid() not in sqlite_wal._running
    pid = os.fork()
    if pid == 0:  # the child: its own thread, and the database is free to checkpoint
        ok = False
        try:
            sqlite_wal._after_fork()
            mine = sqlite_wal._running.get(os.getpid())
            busy, _, _ = sqlite3.connect(path).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            ok = mine is not None and mine._thread.is_alive() and busy == 0
        finally:
            os._exit(0 if ok else 1)
    sqlite_wal._after_fork()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    again = sqlite_wal._running[os.getpid()]
    try:
        assert again is not first and again._thread.is_alive() and again.path == str(path)
    finally:
        again.stop()


@sqlite_only
@pytest.mark.django_db
def test_it_keeps_no_rewriting_of_a_statement_that_holds_its_data():
    qmark.cache_clear()
    ids = list(range(2000))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 WHERE 1 IN ({', '.join(['%s'] * len(ids))}))", ids)
        assert cursor.fetchone() == (1,)
    assert qmark.cache_info().currsize == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
@pytest.mark.django_db
def test_postgresql_binds_on_the_server_and_prepares_what_runs_again():
    connection.ensure_connection()
    raw = connections["default"].connection
    assert raw.prepare_threshold == 2
    assert type(raw.cursor()).__name__ == "ServerBindingCursor"
    with connection.cursor() as cursor:
        for n in range(4):
            cursor.execute("SELECT %s::int + 1", [n])
            assert cursor.fetchone() == (n + 1,)
