"""Puan's one settings module. Every value that differs between machines is read from the
environment (documented in `.env.example`); a malformed value stops start-up."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from puan.core.env import env_bool, env_int, env_list, env_str, load_env_file, parse_database_url

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
load_env_file(env_str("PUAN_ENV_FILE", str(PROJECT_DIR / ".env")))
DATA_DIR = Path(env_str("PUAN_DATA_DIR", str(PROJECT_DIR / "var"))).resolve()
# The embedded database, the embedded queue and uploads live here, whatever the database.
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("PUAN_DEBUG", False)
TESTING = env_bool("PUAN_TESTING", False)

_DEV_SECRET = "puan-insecure-development-key-change-me-in-production-0123456789"
SECRET_KEY = env_str("PUAN_SECRET_KEY", _DEV_SECRET if (DEBUG or TESTING) else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "PUAN_SECRET_KEY is not set. Set it to a long random string (or PUAN_DEBUG=1 for development)."
    )
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("PUAN_SECRET_KEY must be at least 32 characters long.")

ALLOWED_HOSTS = env_list("PUAN_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("PUAN_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "puan.core.admin_site.PuanAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "template_partials",
    # The API docs page (/api/v1/docs) from ninja's own static files, not a CDN: the
    # content security policy allows scripts from this site only.
    "ninja",
    "huey.contrib.djhuey",
    "puan.core",
    "puan.org",
    "puan.accounts",
    "puan.taxonomy",
    "puan.cases",
    "puan.supervision",
    "puan.open311",
    "puan.notifications",
    "puan.sla",
    "puan.command",
    "puan.gridops",
    "puan.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Chinese unless the user picked English with the switch (not the browser's language).
    "puan.web.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "puan.web.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "puan.urls"
WSGI_APPLICATION = "puan.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"
CSRF_FAILURE_VIEW = "puan.web.views.csrf_failure"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "puan.web.context_processors.navigation",
                "puan.web.context_processors.error_frame",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL", "")
if _database_url:
    _db = parse_database_url("DATABASE_URL", _database_url)
else:
    _db = parse_database_url("DATABASE_URL", f"sqlite:///{DATA_DIR / 'puan.sqlite3'}")

if _db.engine.endswith("sqlite3"):
    Path(_db.name).parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": _db.engine,
            "NAME": _db.name,
            # Persistent connections keep the PRAGMAs and page cache warm across requests.
            "CONN_MAX_AGE": env_int("PUAN_DB_CONN_MAX_AGE", 600, minimum=0),
            "OPTIONS": {
                # Writers take the lock at BEGIN, so two writers queue on busy_timeout
                # instead of one failing on a read-to-write lock upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": env_int("PUAN_SQLITE_BUSY_TIMEOUT", 20, minimum=1),
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA cache_size=-65536;"
                    "PRAGMA temp_store=MEMORY;"
                    # Copy the write-ahead log back into the database every 40 MB rather
                    # than every 4 MB: each copy ends in an fsync the committing request
                    # waits for, and a page written many times in between is copied once.
                    "PRAGMA wal_autocheckpoint=10000;"
                ),
            },
            # Tests use a file, not SQLite's shared in-memory database: tests of concurrent
            # writers need real WAL locking, as in production. One file per test run, so
            # two runs on one machine never share a database.
            "TEST": {"NAME": env_str("PUAN_TEST_SQLITE_NAME", str(DATA_DIR / f"test-puan-{os.getpid()}.sqlite3"))},
        }
    }
else:
    _pg_prepared = env_bool("PUAN_PG_PREPARED_STATEMENTS", True)
    DATABASES = {
        "default": {
            "ENGINE": _db.engine,
            "NAME": _db.name,
            "USER": _db.user,
            "PASSWORD": _db.password,
            "HOST": _db.host,
            "PORT": _db.port,
            "CONN_MAX_AGE": env_int("PUAN_DB_CONN_MAX_AGE", 600, minimum=0),
            "CONN_HEALTH_CHECKS": True,
            # psycopg binds the parameters on the server and prepares a statement run
            # twice on a connection, so PostgreSQL parses and plans intake's few statements
            # once rather than on every report. Django leaves both off by default for
            # transaction-pooling proxies (PgBouncer in transaction mode), which cannot keep
            # a connection's prepared statements: set PUAN_PG_PREPARED_STATEMENTS=0 behind one.
            "OPTIONS": {
                **({"server_side_binding": True, "prepare_threshold": 2} if _pg_prepared else {}),
                **_db.options,
            },
            "TEST": {"NAME": f"test_{_db.name}_{os.getpid()}"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# On SQLite, the web process copies the write-ahead log back into the database from a
# thread of its own this often (0: leave it to the requests' commits; core/sqlite_wal.py).
PUAN_SQLITE_CHECKPOINT_MS = env_int("PUAN_SQLITE_CHECKPOINT_MS", 500, minimum=0)

# --- security -------------------------------------------------------------------------
# The first signs people in; Django's own stays listed so sessions it signed still resolve.
AUTHENTICATION_BACKENDS = [
    "puan.accounts.backends.SessionUserBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("PUAN_SESSION_HOURS", 12, minimum=1) * 3600
SESSION_COOKIE_SECURE = env_bool("PUAN_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

PUAN_LOCKOUT_THRESHOLD = env_int("PUAN_LOCKOUT_THRESHOLD", 5, minimum=1)
PUAN_LOCKOUT_MINUTES = env_int("PUAN_LOCKOUT_MINUTES", 15, minimum=1)
PUAN_TOKEN_TTL_HOURS = env_int("PUAN_TOKEN_TTL_HOURS", 24 * 7, minimum=1)


def _derive_key(raw: str, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{raw}".encode()).digest()


# Personal data at rest: PUAN_PII_KEY is a secret of its own so that rotating the
# session secret does not make stored ID numbers unreadable.
_pii_raw = env_str("PUAN_PII_KEY", "" if not (DEBUG or TESTING) else SECRET_KEY)
if not _pii_raw:
    raise ImproperlyConfigured("PUAN_PII_KEY is not set. Set it to a long random string and keep it safe.")
if len(_pii_raw) < 32:
    raise ImproperlyConfigured("PUAN_PII_KEY must be at least 32 characters long.")
PUAN_PII_ENCRYPTION_KEY = base64.urlsafe_b64encode(_derive_key(_pii_raw, "pii-encrypt"))
PUAN_PII_INDEX_KEY = _derive_key(_pii_raw, "pii-blind-index")

# --- i18n -----------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("PUAN_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- static and media -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"

# --- cases --------------------------------------------------------------------------
# A report of the same category within this distance and time of an open case joins it.
PUAN_DUPLICATE_RADIUS_M = env_int("PUAN_DUPLICATE_RADIUS_M", 100, minimum=0, maximum=10_000)
PUAN_DUPLICATE_WINDOW_HOURS = env_int("PUAN_DUPLICATE_WINDOW_HOURS", 72, minimum=0, maximum=24 * 365)
PUAN_MAX_UPLOAD_MB = env_int("PUAN_MAX_UPLOAD_MB", 10, minimum=1, maximum=200)
# The department ranking ranks a rate only over at least this many cases (handled for the
# on-time rate, rated for satisfaction); departments with fewer are listed, unranked.
PUAN_RANKING_MIN_CASES = env_int("PUAN_RANKING_MIN_CASES", 5, minimum=1, maximum=10_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = PUAN_MAX_UPLOAD_MB * 1024 * 1024 + 1024 * 1024

# --- Open311 GeoReport v2 (/open311/v2/, see docs/open311.md) -------------------------
# The one jurisdiction served; a request naming another is refused.
PUAN_OPEN311_JURISDICTION_ID = env_str("PUAN_OPEN311_JURISDICTION_ID", "puan")
# POSTs per API key per minute (a client system's own limit, set in the admin, wins); 0 = no limit.
PUAN_OPEN311_RATE_PER_MINUTE = env_int("PUAN_OPEN311_RATE_PER_MINUTE", 60, minimum=0)
# GETs per minute, per API key when one is sent, else per client IP address; 0 = no limit.
PUAN_OPEN311_GET_RATE_PER_MINUTE = env_int("PUAN_OPEN311_GET_RATE_PER_MINUTE", 600, minimum=0)
# Behind a reverse proxy: the header carrying the client's address (e.g. X-Real-IP).
PUAN_OPEN311_IP_HEADER = env_str("PUAN_OPEN311_IP_HEADER", "")
# Item groups or single items whose requests show only their status to anyone but the
# client that filed them: people's own affairs, and tip-offs and matters that name children,
# patients or suspects.
PUAN_OPEN311_PRIVATE_GROUPS = env_list(
    "PUAN_OPEN311_PRIVATE_GROUPS",
    ["G02", "G03-02", "G03-04", "G04-02", "G04-03", "G04-04", "G04-05", "G06-01", "G06-03", "G08", "G13", "G15", "G16"],
)
# Shown in discovery: whom integrators contact, and how they get a key.
PUAN_OPEN311_CONTACT = env_str("PUAN_OPEN311_CONTACT", "埔安平台系统管理员")
PUAN_OPEN311_KEY_SERVICE = env_str(
    "PUAN_OPEN311_KEY_SERVICE", "API key 由区指挥中心系统管理员按接入系统签发，请书面申请。"
)

# --- benchmarks -----------------------------------------------------------------------
# Yardstick endpoints under /api/v1/bench/ (a no-op and a one-row commit) that
# bench/bench_intake.py compares intake against. Off in production: they are not even routed.
PUAN_BENCH_ENDPOINTS = env_bool("PUAN_BENCH_ENDPOINTS", False)

# --- background work ------------------------------------------------------------------
# Huey runs the deadline sweep, supervision escalations and notification delivery.
# Embedded: a SQLite queue file beside the database; production: Redis. Tests and
# PUAN_HUEY_IMMEDIATE=1 run tasks inline, in the calling process.
REDIS_URL = env_str("REDIS_URL", "")
HUEY = {
    "name": "puan",
    "huey_class": "huey.RedisHuey" if REDIS_URL else "huey.SqliteHuey",
    "immediate": env_bool("PUAN_HUEY_IMMEDIATE", TESTING),
    "utc": True,
    "connection": {"url": REDIS_URL} if REDIS_URL else {"filename": str(DATA_DIR / "huey.sqlite3")},
    "consumer": {"workers": env_int("PUAN_HUEY_WORKERS", 2, minimum=1), "worker_type": "thread"},
}

# --- notifications --------------------------------------------------------------------
# SMS gateway: dotted path of a class with send(phone, text). The default only logs (phone
# masked) and keeps the text in the SMS log; an unknown path stops start-up.
PUAN_SMS_BACKEND = env_str("PUAN_SMS_BACKEND", "puan.notifications.sms.LoggingSmsBackend")
# Outgoing webhooks: seconds per HTTP attempt, attempts before a delivery is given up, the
# wait after the first failure (doubling after each further one), and parallel requests.
PUAN_WEBHOOK_TIMEOUT_SECONDS = env_int("PUAN_WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1, maximum=60)
PUAN_WEBHOOK_MAX_ATTEMPTS = env_int("PUAN_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1, maximum=20)
PUAN_WEBHOOK_BACKOFF_SECONDS = env_int("PUAN_WEBHOOK_BACKOFF_SECONDS", 60, minimum=1, maximum=3600)
PUAN_WEBHOOK_WORKERS = env_int("PUAN_WEBHOOK_WORKERS", 4, minimum=1, maximum=32)

_LOG_LEVEL = env_str("PUAN_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per message: Django's own console handler (on under DEBUG) and the one
        # the task worker adds to a "huey" logger without handlers would each repeat what
        # the root's handler writes.
        "django": {"handlers": ["console"], "level": _LOG_LEVEL, "propagate": False},
        "huey": {"handlers": ["console"], "level": _LOG_LEVEL, "propagate": False},
    },
}

PUAN_DISTRICT_NAME = _("Puan district")

# --- pages ----------------------------------------------------------------------------
# Public (citizen) POSTs per client address per minute: appeals, progress look-ups, ratings.
PUAN_CITIZEN_RATE_PER_MINUTE = env_int("PUAN_CITIZEN_RATE_PER_MINUTE", 10, minimum=1, maximum=10_000)
# Behind a reverse proxy: the header carrying the client's address (e.g. X-Real-IP).
PUAN_CLIENT_IP_HEADER = env_str("PUAN_CLIENT_IP_HEADER", "")
