from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from puan.core.env import env_bool, env_int, parse_database_url


def test_it_parses_booleans_and_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env_bool("X_FLAG", False) is True
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG='maybe' is not a boolean"):
        env_bool("X_FLAG", False)


def test_it_parses_whole_numbers_within_bounds(monkeypatch):
    monkeypatch.setenv("X_N", "12")
    assert env_int("X_N", 1, minimum=1) == 12
    monkeypatch.setenv("X_N", "twelve")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("X_N", 1)
    monkeypatch.setenv("X_N", "0")
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        env_int("X_N", 1, minimum=1)


def test_it_parses_database_urls():
    pg = parse_database_url("DATABASE_URL", "postgres://pu%40an:s3cret@db.example:6543/puan?sslmode=require")
    assert (pg.engine, pg.name, pg.user, pg.password, pg.host, pg.port) == (
        "django.db.backends.postgresql",
        "puan",
        "pu@an",
        "s3cret",
        "db.example",
        "6543",
    )
    assert pg.options == {"sslmode": "require"}
    lite = parse_database_url("DATABASE_URL", "sqlite:////tmp/x.db")
    assert lite.name == "/tmp/x.db"
    for bad in ("mysql://x/y", "postgres://host:notaport/db", "postgres://host/", "sqlite://relative.db"):
        with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
            parse_database_url("DATABASE_URL", bad)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PUAN_DEBUG": "perhaps"}, "PUAN_DEBUG='perhaps' is not a boolean"),
        ({"PUAN_TESTING": "0", "PUAN_DEBUG": "0", "PUAN_SECRET_KEY": ""}, "PUAN_SECRET_KEY is not set"),
        ({"PUAN_SECRET_KEY": "short"}, "at least 32 characters"),
        ({"DATABASE_URL": "oracle://x/y"}, "unsupported scheme"),
        ({"PUAN_LOCKOUT_THRESHOLD": "-1"}, "PUAN_LOCKOUT_THRESHOLD=-1 is below the minimum"),
    ],
)
def test_it_stops_start_up_on_a_malformed_setting(env, message):
    environment = {**os.environ, "PUAN_TESTING": "1", **env}
    result = subprocess.run(
        [sys.executable, "-c", "import puan.settings"], env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_it_fills_gaps_from_an_env_file_without_overriding(tmp_path, monkeypatch):
    from puan.core.env import load_env_file

    env_file = tmp_path / ".env"
    env_file.write_text('# comment\nX_FROM_FILE="hello"\nexport X_SET=file\n', encoding="utf-8")
    monkeypatch.delenv("X_FROM_FILE", raising=False)
    monkeypatch.setenv("X_SET", "process")
    load_env_file(env_file)
    assert os.environ["X_FROM_FILE"] == "hello"
    assert os.environ["X_SET"] == "process"
    monkeypatch.delenv("X_FROM_FILE")
    env_file.write_text("not a line\n", encoding="utf-8")
    with pytest.raises(ImproperlyConfigured, match=":1 is not a KEY=VALUE line"):
        load_env_file(env_file)


def test_it_writes_each_log_message_once(tmp_path):
    """Under DEBUG (`make demo`), Django's console handler and the one the task worker
    gives a "huey" logger without handlers would each repeat what the root's handler
    writes: every message would be on the console twice."""
    script = (
        "import logging, django; django.setup()\n"
        "from django.conf import settings; assert settings.DEBUG\n"
        # What `run_huey` does before it starts the consumer.
        "from huey.consumer_options import ConsumerConfig\n"
        "huey = logging.getLogger('huey')\n"
        "huey.handlers or ConsumerConfig().setup_logger(huey)\n"
        "logging.getLogger('django.request').warning('once-from-django')\n"
        "logging.getLogger('huey.consumer').info('once-from-huey')\n"
        "logging.getLogger('puan.cases').info('once-from-puan')\n"
    )
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PUAN_")},
        "DJANGO_SETTINGS_MODULE": "puan.settings",
        "PUAN_DEBUG": "1",
        "PUAN_DATA_DIR": str(tmp_path),
        "PUAN_ENV_FILE": str(tmp_path / "none.env"),
        "PUAN_LOG_LEVEL": "INFO",
    }
    result = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for message in ("once-from-django", "once-from-huey", "once-from-puan"):
        assert result.stderr.count(message) == 1, result.stderr
