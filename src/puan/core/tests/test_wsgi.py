from __future__ import annotations

import gc
import importlib
import io
import json
import os

import pytest
from django.conf import settings
from django.db import connection

from puan.core import sqlite_wal


@pytest.mark.django_db
def test_the_wsgi_application_serves_with_what_it_loaded_frozen():
    frozen_before = gc.get_freeze_count()
    try:
        wsgi = importlib.reload(importlib.import_module("puan.wsgi"))
        # Everything the loaded process holds sits outside the collector's full passes.
        assert gc.get_freeze_count() > max(frozen_before, 50_000)
        statuses = []
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/api/v1/openapi.json",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
        }
        body = b"".join(wsgi.application(environ, lambda status, headers: statuses.append(status)))
        assert statuses == ["200 OK"]
        assert "/api/v1/cases" in json.loads(body)["paths"]
        # On SQLite the process copies the write-ahead log back from a thread of its own.
        running = sqlite_wal._running.get(os.getpid())
        assert (running is not None) == (connection.vendor == "sqlite")
        if running is not None:
            assert running.path == settings.DATABASES["default"]["NAME"] and running._thread.is_alive()
    finally:
        gc.unfreeze()
        for checkpointer in sqlite_wal._running.values():
            checkpointer.stop()
        sqlite_wal._running.clear()
