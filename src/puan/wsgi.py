import gc
import os

from django.core.wsgi import get_wsgi_application

from puan.core.sqlite_wal import start_for_default_database

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "puan.settings")
application = get_wsgi_application()


def _settle() -> None:
    """Load every view and API module now, and leave what the process holds once loaded
    out of the garbage collector's full passes: they would otherwise walk some 170,000
    objects that live as long as the process (60–75 ms, a stall for every request queued
    behind this worker) every few thousand requests, to free none of them."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URL configuration
    gc.collect()
    gc.freeze()


_settle()
# On SQLite, the log goes back into the database between requests, not during one.
start_for_default_database()
