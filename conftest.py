import os

# Tests run with development defaults for secrets; production refuses to start without them.
os.environ.setdefault("PUAN_TESTING", "1")

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Argon2 is deliberately slow; tests that are about hashing switch it back on.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_grid_index():
    from puan.org import geo

    geo.invalidate()
    yield
    geo.invalidate()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
