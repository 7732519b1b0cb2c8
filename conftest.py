import os

# Tests run with development defaults for secrets; production refuses to start without them.
os.environ.setdefault("PUAN_TESTING", "1")

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Argon2 is deliberately slow; tests that are about hashing switch it back on.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Each test's database holds different rows: no test may see another's cached copy of
    the grid index, the outlines or the reference data."""
    from puan.core.cache import invalidate_all

    invalidate_all()
    yield
    invalidate_all()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    """Transactional tests flush every table afterwards, including the reference rows that
    migrations ship (risk rules, SLA policies, the holiday calendar). Put them back for
    each transactional test instead of relying on serialized rollback."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")
    from puan.cases.risk import risk_rules_install_defaults
    from puan.sla.calendar import calendar_load_shipped
    from puan.sla.engine import policies_install_defaults
    from puan.sla.models import CalendarDay

    risk_rules_install_defaults()
    policies_install_defaults()
    if not CalendarDay.objects.exists():
        calendar_load_shipped()
    yield
