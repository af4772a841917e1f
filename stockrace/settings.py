"""StockRace settings: everything an operator may change comes from the environment.

Each variable is documented in the README's configuration table and in ``.env.example``.
Bad values stop the process at start with one message naming every problem.
"""
from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

from stockrace import config

BASE_DIR = Path(__file__).resolve().parent.parent
config.load_dotenv(BASE_DIR / ".env")
env = config.Env()

# Under pytest the suite uses its own Redis database so it never clobbers a running demo;
# subprocesses started by tests inherit the choice through os.environ.
TESTING = "pytest" in sys.modules or os.environ.get("STOCKRACE_TESTING") == "1"
# The embedded stack is a developer's or a demo's machine: local-only defaults are acceptable
# there. It runs only when asked: `make run` (the launcher), `make test` and
# `python -m stockrace.embedded exec -- CMD` set STOCKRACE_EMBEDDED=1 for what they start (the
# test suite may also use it). Anything else without DATABASE_URL stops with a message, instead of
# a production server quietly booting an empty local database.
EMBEDDED = env.bool("STOCKRACE_EMBEDDED", False)

# ----------------------------------------------------------------------------- core
DEBUG = env.bool("DEBUG", False)
SECRET_KEY = env.str("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG or TESTING or EMBEDDED:
        SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"
    else:
        env.errors.append("SECRET_KEY is required when DEBUG is off (generate one with "
                          "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`)")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
# HTTPS, for a site served over TLS (all off by default: the embedded stack is plain HTTP).
# SECURE_PROXY_SSL_HEADER is "Header-Name=value" (e.g. X-Forwarded-Proto=https), only behind a
# proxy that sets the header itself; /healthz is never redirected (container health checks).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 0, min=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", False)
SECURE_PROXY_SSL_HEADER = config.proxy_ssl_header(env.str("SECURE_PROXY_SSL_HEADER", ""), env.errors)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])
HTTP_PORT = env.int("HTTP_PORT", 8000, min=1, max=65535)
SITE_URL = env.str("SITE_URL", f"http://127.0.0.1:{HTTP_PORT}")
# Proxies (CIDRs) whose X-Forwarded-For is believed (apps/core/net.py): behind nginx, its address
# or network. Empty: the socket's peer is the client, whatever the header says.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", [])
from apps.core.net import parse_networks as _parse_networks  # noqa: E402  (no Django needed)

_parse_networks(TRUSTED_PROXIES, env.errors)

# ----------------------------------------------------------------------------- services
# With DATABASE_URL / REDIS_URL unset, a real PostgreSQL and Redis are started under ./var/ when
# the embedded stack was asked for; otherwise the missing URL is an error.
_embedded_urls = {}
_missing_urls = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
if _missing_urls and (EMBEDDED or TESTING):
    from stockrace import embedded

    _embedded_urls = embedded.export_urls()
elif _missing_urls:
    env.errors.append(f"{' and '.join(_missing_urls)} {'is' if len(_missing_urls) == 1 else 'are'} not set: point "
                      "them at your PostgreSQL and Redis, or on a developer machine ask for the embedded servers "
                      "(`make run`, `make test`, `python -m stockrace.embedded exec -- CMD`, or STOCKRACE_EMBEDDED=1)")

DATABASE_URL = env.str("DATABASE_URL", "")
REDIS_URL = env.str("REDIS_URL", "")
if REDIS_URL:
    config.check_redis_url(REDIS_URL, env.errors)
REDIS_TEST_DB = env.int("REDIS_TEST_DB", 15, min=1, max=15)
if TESTING:
    REDIS_URL = config.redis_url_with_db(REDIS_URL, REDIS_TEST_DB)
    os.environ["REDIS_URL"] = REDIS_URL
# Redis pub/sub channels are server-wide, not per database: a test run beside a running demo
# on the same server must not hear the demo's channels, nor the demo the tests'.
REDIS_PUBSUB_PREFIX = env.str("REDIS_PUBSUB_PREFIX", f"t{REDIS_TEST_DB}:" if TESTING else "")
if TESTING:
    os.environ["REDIS_PUBSUB_PREFIX"] = REDIS_PUBSUB_PREFIX  # servers started by tests agree

DATABASES = {"default": config.parse_database_url(DATABASE_URL, env.errors) if DATABASE_URL else {}}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", 0, min=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Prepared statements on: never automatically (client-side binding stays Django's default), only
# where code asks for them (apps.core.db.prepared_cursor: the bet statement). Django's default,
# None, disables them entirely. Not for transaction-mode poolers such as PgBouncer's.
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
# The web process serves HTTP from a fixed pool of worker threads (stockrace/handlers.py), so
# DB_CONN_MAX_AGE > 0 (the Procfile sets 300) lets each thread keep its connection, checked at the
# start of each request (CONN_HEALTH_CHECKS). DB_POOL_MAX_SIZE > 0 uses psycopg's pool instead
# (Django's "pool" option, which needs persistent connections off): a request borrows a
# connection and gives it back when it finishes — measured slower on the bet path here.
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", 0, min=0)
# Worker threads per ASGI process for HTTP requests (stockrace/handlers.py): how many requests one
# process works on at once. A thread keeps its database connection between requests.
HTTP_THREADS = env.int("HTTP_THREADS", 8, min=1, max=256)
# Request bodies past this size are answered 413 by the ASGI app before they are read
# (stockrace/body_limit.py); Django's own in-memory limit agrees.
HTTP_MAX_BODY_BYTES = env.int("HTTP_MAX_BODY_BYTES", 1024 * 1024, min=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = HTTP_MAX_BODY_BYTES
# The lean bet route in front of Django (apps/bets/fastpath.py); off: every bet goes through DRF.
BET_FAST_PATH = env.bool("BET_FAST_PATH", True)
if DB_POOL_MAX_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DB_POOL_MAX_SIZE,
                                                              "timeout": 10}
# Several suites may share one server (parallel checkouts): each may name its own test database.
DATABASES["default"]["TEST"] = {"NAME": env.str("STOCKRACE_TEST_DB_NAME", "test_stockrace")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
    }
}

CHANNEL_LAYERS = {
    "default": {
        # The pub/sub layer: each ASGI process gets one copy of a group message and only for
        # groups its own clients joined (see docs/ARCHITECTURE.md).
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL}], "prefix": f"{REDIS_PUBSUB_PREFIX}sr"},
    }
}

# ----------------------------------------------------------------------------- apps
INSTALLED_APPS = [
    "daphne",
    "admin_interface",
    "colorfield",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",  # rotated and revoked refresh tokens (apps/accounts/tokens.py)
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "channels",
    "axes",  # login lockout (apps/accounts/lockout.py)
    "apps.core",
    "apps.accounts",
    "apps.market",
    "apps.races",
    "apps.bets",
    "apps.points",
    "apps.badges",
    "apps.botdetect",
    "apps.feed",
    "apps.live",
    "apps.leaderboards",
    "apps.trading",
    "apps.markets",
    "apps.web",
]

MIDDLEWARE = [
    # Before anything reads an address: the trusted client address into REMOTE_ADDR (apps/core/net.py).
    "apps.core.net.ClientAddressMiddleware",
    # First: a path or query parameter that is not text (NUL...) is refused before anything reads it.
    "apps.core.inputs.InputGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The admin in the staff member's own time zone (the browser's, in a cookie: apps/core/timezones.py).
    "apps.core.timezones.AdminTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a login refused for too many failures into the lockout page (apps/accounts/lockout.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "stockrace.urls"
ASGI_APPLICATION = "stockrace.asgi.application"
WSGI_APPLICATION = None
AUTH_USER_MODEL = "accounts.User"
# The lockout check first (django-axes: refuses a locked-out login before the password is checked).
AUTHENTICATION_BACKENDS = ["apps.accounts.lockout.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "lobby"
LOGOUT_REDIRECT_URL = "lobby"
X_FRAME_OPTIONS = "SAMEORIGIN"  # django-admin-interface opens related objects in same-origin modals

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
            ],
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast user creation in tests

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
MARKET_TIME_ZONE = "America/New_York"  # the exchange calendar, daily bonus day, leaderboard periods

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
if TESTING or EMBEDDED:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on a missing root before collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING or EMBEDDED

# ----------------------------------------------------------------------------- API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.tokens.RevocableJWTAuthentication",  # simplejwt, minus tokens revoked by a password change
        "rest_framework.authentication.SessionAuthentication",  # pages: session cookie + CSRF
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.Pagination",
    # JSON bodies: depth-limited, no NUL or control characters in strings (apps/core/inputs.py).
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": env.int("API_PAGE_SIZE", 25, min=1, max=500),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.rate("API_THROTTLE_ANON", "120/min"),
        "user": env.rate("API_THROTTLE_USER", "1200/min"),
        # Sign-ups per address and per /24 (IPv6 /64), pages and API alike (apps/accounts/throttles.py).
        "register": env.rate("API_THROTTLE_REGISTER", "20/hour"),
        "register_network": env.rate("API_THROTTLE_REGISTER_NETWORK", "60/hour"),
        "bets_user": env.rate("BET_RATE_LIMIT_USER", "60/min"),
        "bets_ip": env.rate("BET_RATE_LIMIT_IP", "300/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Throttles key on REMOTE_ADDR alone, which apps.core.net has already set to the trusted address.
    "NUM_PROXIES": 0,
}
if TESTING:
    # Tests hammer the API from one address on purpose; throttling has its own tests.
    REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []
SPECTACULAR_SETTINGS = {
    "TITLE": "StockRace API",
    "DESCRIPTION": "Stock races, bets, points, leaderboards and live market data.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI served from our own static files: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation's 4xx answers and the error envelope (apps/core/schema.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "apps.core.schema.add_error_responses"],
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", 15, min=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", 7, min=1)),
    "SIGNING_KEY": SECRET_KEY,
    # Every refresh returns a new refresh token and blacklists the one it used (token_blacklist).
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Token login grants the daily login bonus, like a session login does.
    "TOKEN_OBTAIN_SERIALIZER": "apps.points.jwt.TokenObtainPairWithBonusSerializer",
}

# ----------------------------------------------------------------------------- Celery
CELERY_BROKER_URL = config.kombu_redis_url(REDIS_URL)
CELERY_RESULT_BACKEND = None  # tasks report through the database, not a result store
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = TESTING and os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULE = {
    # DatabaseScheduler copies these into django_celery_beat's tables at start; staff can
    # pause or retime them in the admin.
    "heartbeat": {"task": "core.heartbeat", "schedule": float(env.int("HEARTBEAT_INTERVAL_SECONDS", 10, min=1))},
}
# Beat's heartbeat task runs this often; /healthz calls beat late after BEAT_MAX_SILENCE.
HEARTBEAT_INTERVAL_SECONDS = env.int("HEARTBEAT_INTERVAL_SECONDS", 10, min=1)
BEAT_MAX_SILENCE_SECONDS = env.int("BEAT_MAX_SILENCE_SECONDS", 60, min=5)

# ----------------------------------------------------------------------------- market data
MARKET_DATA_PROVIDER = env.choice("MARKET_DATA_PROVIDER", "simulator", ("simulator", "replay", "finnhub", "alpaca"))
MARKET_DATA_API_KEY = env.str("MARKET_DATA_API_KEY", "")
MARKET_DATA_API_SECRET = env.str("MARKET_DATA_API_SECRET", "")
MARKET_DATA_WS_URL = env.str("MARKET_DATA_WS_URL", "")
MARKET_DATA_REST_URL = env.str("MARKET_DATA_REST_URL", "")
MARKET_DATA_STALE_SECONDS = env.float("MARKET_DATA_STALE_SECONDS", 10.0, min=0.5)
SNAPSHOT_ACTIVE_SECONDS = env.float("SNAPSHOT_ACTIVE_SECONDS", 1.0, min=0.1)
SNAPSHOT_IDLE_SECONDS = env.float("SNAPSHOT_IDLE_SECONDS", 15.0, min=0.1)
REPLAY_DIR = env.str("REPLAY_DIR", str(BASE_DIR.parent / "shared" / "data" / "market" / "intraday_1min"))
REPLAY_SPEED = env.float("REPLAY_SPEED", 60.0, min=0.01)
EXCHANGE_SIM_HOST = env.str("EXCHANGE_SIM_HOST", "127.0.0.1")
EXCHANGE_SIM_PORT = env.int("EXCHANGE_SIM_PORT", 8765, min=1, max=65535)
EXCHANGE_SIM_SEED = env.int("EXCHANGE_SIM_SEED", 42)
EXCHANGE_SIM_TICKS_PER_SECOND = env.float("EXCHANGE_SIM_TICKS_PER_SECOND", 4.0, min=0.1)
EXCHANGE_SIM_SYMBOLS = env.int("EXCHANGE_SIM_SYMBOLS", 0, min=0)  # 0: every listed stock
# Scales every simulated volatility (1.0: a stock moves about 1 % in a 5-minute race).
EXCHANGE_SIM_VOLATILITY = env.float("EXCHANGE_SIM_VOLATILITY", 1.0, min=0.0)
# Symbol sync (apps/market/tasks.py): full on weekdays at this hour New York time, whatever the
# season (before the 09:30 open), and incremental every hour at minute 5.
SYMBOL_SYNC_FULL_HOUR_NY = env.int("SYMBOL_SYNC_FULL_HOUR_NY", 8, min=0, max=9)
from celery.schedules import crontab  # noqa: E402  (beat schedule types; no app is loaded here)
from django_celery_beat.tzcrontab import TzAwareCrontab  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

CELERY_BEAT_SCHEDULE.update({
    "market-symbols-full": {
        "task": "market.sync_symbols", "kwargs": {"full": True},
        "schedule": TzAwareCrontab(minute=0, hour=SYMBOL_SYNC_FULL_HOUR_NY, day_of_week="mon-fri",
                                   tz=ZoneInfo(MARKET_TIME_ZONE)),
    },
    "market-symbols-hourly": {"task": "market.sync_symbols", "kwargs": {"full": False}, "schedule": crontab(minute=5)},
})

# ----------------------------------------------------------------------------- live race rooms
# The engine's Redis lease: a standby takes over within LEASE_MS + POLL_SECONDS of a crash.
LIVE_ENGINE_LEASE_MS = env.int("LIVE_ENGINE_LEASE_MS", 1000, min=300, max=60000)
LIVE_ENGINE_POLL_SECONDS = env.float("LIVE_ENGINE_POLL_SECONDS", 0.2, min=0.05, max=10)
# Room heartbeat ({"type":"ping"}) interval, and the outbound bytes a viewer may have queued
# in the server before its frames are conflated (latest frame only).
LIVE_WS_HEARTBEAT_SECONDS = env.float("LIVE_WS_HEARTBEAT_SECONDS", 15.0, min=0.5)
LIVE_WS_MAX_BUFFER_BYTES = env.int("LIVE_WS_MAX_BUFFER_BYTES", 65536, min=1024)
# Threads (the event loop's included) that send one fan-out batch to a process's viewers
# (apps/live/fanout.py): socket sends release the GIL, so two use both cores.
LIVE_WS_SEND_THREADS = env.int("LIVE_WS_SEND_THREADS", 2, min=1, max=8)
# The hub's direct socket writes under daphne (apps/core/backpressure.DirectSocket); off: every
# frame goes through Twisted's buffered write.
LIVE_WS_DIRECT_WRITES = env.bool("LIVE_WS_DIRECT_WRITES", True)
# What a client may send on any /ws/ socket: the largest message (daphne refuses a bigger one
# from its frame header, close 1009: stockrace/servers.py) and how many a second (a token
# bucket of LIVE_WS_CLIENT_BURST; faster: close 4429).
LIVE_WS_MAX_MESSAGE_BYTES = env.int("LIVE_WS_MAX_MESSAGE_BYTES", 65536, min=1024, max=16 * 1024 * 1024)
LIVE_WS_CLIENT_RATE = env.float("LIVE_WS_CLIENT_RATE", 10.0, min=0.1)
LIVE_WS_CLIENT_BURST = env.int("LIVE_WS_CLIENT_BURST", 30, min=1)
# Seconds a /ws/me/ socket opened without credentials has to send {"type":"auth","token":...}.
LIVE_WS_AUTH_SECONDS = env.float("LIVE_WS_AUTH_SECONDS", 10.0, min=0.5, max=120)
# How long one Server-Sent Events response of the HTTP fallback stays open before it ends and the
# client reconnects with Last-Event-ID (apps/live/fallback.py); below proxies' read timeouts.
LIVE_SSE_SECONDS = env.float("LIVE_SSE_SECONDS", 25.0, min=1, max=300)

# ----------------------------------------------------------------------------- game rules
SIGNUP_BONUS = env.int("SIGNUP_BONUS", 1000, min=0)
DAILY_LOGIN_BONUS = env.int("DAILY_LOGIN_BONUS", 100, min=0)
BET_MIN_STAKE = env.int("BET_MIN_STAKE", 1, min=1)
BET_MAX_STAKE_PER_RACE = env.int("BET_MAX_STAKE_PER_RACE", 500, min=1)
BET_COOLDOWN_SECONDS = env.float("BET_COOLDOWN_SECONDS", 2.0, min=0)
BET_HOUSE_MARGIN = env.float("BET_HOUSE_MARGIN", 0.05, min=0, max=0.5)  # share of fair odds the house keeps
# A bet the pricing model gives a chance above this is refused as a near-certainty (docs/ECONOMY.md).
BET_MAX_WIN_PROBABILITY = env.float("BET_MAX_WIN_PROBABILITY", 0.9, min=0.5, max=0.99)
# Betting closes this long before the start, so that nobody who watches the market sooner than our
# feed delivers it can see the race begin while bets are still taken. It covers a real provider's
# lag (docs/ECONOMY.md, "The feed cannot be front-run"); the simulator's feed has none.
_REAL_FEED = MARKET_DATA_PROVIDER in ("finnhub", "alpaca")
BET_CLOSE_BEFORE_START_SECONDS = env.float("BET_CLOSE_BEFORE_START_SECONDS", 5.0 if _REAL_FEED else 0.0, min=0)
# How long a race waits after its start for each stock's first trade at or after the start before
# opening it at its last earlier trade (flagged for review).
RACE_OPEN_PRICE_WAIT_SECONDS = env.float("RACE_OPEN_PRICE_WAIT_SECONDS", 10.0 if _REAL_FEED else 0.0, min=0,
                                         max=50)
RACE_BETTING_WINDOW_SECONDS = env.int("RACE_BETTING_WINDOW_SECONDS", 300, min=10)
if BET_CLOSE_BEFORE_START_SECONDS >= RACE_BETTING_WINDOW_SECONDS:
    env.errors.append(f"BET_CLOSE_BEFORE_START_SECONDS={BET_CLOSE_BEFORE_START_SECONDS:g} leaves no betting window "
                      f"(RACE_BETTING_WINDOW_SECONDS={RACE_BETTING_WINDOW_SECONDS})")
RACE_LOBBY_TARGET = env.int("RACE_LOBBY_TARGET", 6, min=0)
# Race lifecycle (apps/races): transitions are ETA tasks enqueued at most this far ahead (below
# the broker's visibility timeout); the beat sweep is the safety net; a race this long past a
# transition counts as stuck for the cleanup task; prices locked later than the tolerance flag
# the race for review.
RACE_ETA_HORIZON_SECONDS = env.int("RACE_ETA_HORIZON_SECONDS", 1800, min=10, max=3000)
RACE_SWEEP_SECONDS = env.float("RACE_SWEEP_SECONDS", 2.0, min=0.5)
RACE_CLEANUP_SECONDS = env.float("RACE_CLEANUP_SECONDS", 30.0, min=1)
RACE_STUCK_AFTER_SECONDS = env.int("RACE_STUCK_AFTER_SECONDS", 60, min=5)
RACE_LATE_TOLERANCE_SECONDS = env.float("RACE_LATE_TOLERANCE_SECONDS", 5.0, min=0.5)
RACE_GENERATE_SECONDS = env.float("RACE_GENERATE_SECONDS", 60.0, min=5)
# House bettors (User.is_house): how many accounts, bets per generated race, and the balance
# each is topped up to through the ledger.
RACE_HOUSE_BETTORS = env.int("RACE_HOUSE_BETTORS", 12, min=0)
RACE_HOUSE_BETS_PER_RACE = env.int("RACE_HOUSE_BETS_PER_RACE", 10, min=0)
RACE_HOUSE_BANKROLL = env.int("RACE_HOUSE_BANKROLL", 20000, min=0)
CELERY_BEAT_SCHEDULE.update({
    "races-sweep": {"task": "races.sweep", "schedule": RACE_SWEEP_SECONDS},
    "races-cleanup": {"task": "races.cleanup", "schedule": RACE_CLEANUP_SECONDS},
    "races-generate": {"task": "races.generate", "schedule": RACE_GENERATE_SECONDS},
})

# ----------------------------------------------------------------------------- prediction markets
# apps/markets (docs/MARKETS.md). The fee is a share of each trade's points, rounded up to a whole
# point; a market keeps the rate it opened with.
MARKET_FEE_PCT = env.float("MARKET_FEE_PCT", 1.67, min=0, max=50)
# Levels of stop-losses one trade may set off (each level: the stops the previous one crossed).
MARKET_STOP_MAX_DEPTH = env.int("MARKET_STOP_MAX_DEPTH", 10, min=1, max=1000)
# The sweep closes markets at their time and resolves them from market data; the generator adds
# markets for the day's marathon and for marquee races.
MARKET_SWEEP_SECONDS = env.float("MARKET_SWEEP_SECONDS", 5.0, min=0.5)
MARKET_GENERATE_SECONDS = env.float("MARKET_GENERATE_SECONDS", 60.0, min=5)
MARKET_GENERATED_LIQUIDITY = env.int("MARKET_GENERATED_LIQUIDITY", 200, min=10)
MARKET_GENERATED_LMSR_B = env.int("MARKET_GENERATED_LMSR_B", 50, min=1)
MARKET_DAILY_SYMBOLS = env.int("MARKET_DAILY_SYMBOLS", 3, min=0, max=20)
# The lean trade route for token-authenticated JSON clients (apps/markets/fastpath.py, on
# apps/core/lean.py); off: every trade goes through DRF.
MARKET_FAST_PATH = env.bool("MARKET_FAST_PATH", True)
CELERY_BEAT_SCHEDULE.update({
    "markets-sweep": {"task": "markets.sweep", "schedule": MARKET_SWEEP_SECONDS},
    "markets-generate": {"task": "markets.generate", "schedule": MARKET_GENERATE_SECONDS},
})

# ----------------------------------------------------------------------------- fair play
# Login lockout (django-axes): this many failures for one username from one address lock that
# pair out of /login/, /admin/login/ and the token API for LOGIN_LOCKOUT_MINUTES.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", 5, min=1)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", 15, min=1)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a lockout ends at the time it announced
AXES_CLIENT_IP_CALLABLE = "apps.core.net.request_client_address"
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful logins are recorded by bot detection, not twice
AXES_VERBOSE = False
# Bot detection (docs/FAIRPLAY.md): the suspicion window, the review and action thresholds, and
# whether the action threshold shadow-restricts by itself (off: everything goes to review).
FAIRPLAY_WINDOW_DAYS = env.int("FAIRPLAY_WINDOW_DAYS", 14, min=1, max=365)
FAIRPLAY_REVIEW_THRESHOLD = env.int("FAIRPLAY_REVIEW_THRESHOLD", 40, min=1)
FAIRPLAY_ACTION_THRESHOLD = env.int("FAIRPLAY_ACTION_THRESHOLD", 70, min=1)
FAIRPLAY_AUTO_RESTRICT = env.bool("FAIRPLAY_AUTO_RESTRICT", True)
if FAIRPLAY_ACTION_THRESHOLD < FAIRPLAY_REVIEW_THRESHOLD:
    env.errors.append("FAIRPLAY_ACTION_THRESHOLD must not be below FAIRPLAY_REVIEW_THRESHOLD")
# How often the worker folds the bet observations (devices, addresses, clients) into the database.
FAIRPLAY_DRAIN_SECONDS = env.float("FAIRPLAY_DRAIN_SECONDS", 5.0, min=0.5)
CELERY_BEAT_SCHEDULE.update({
    "botdetect-drain": {"task": "botdetect.drain", "schedule": FAIRPLAY_DRAIN_SECONDS},
})

# ----------------------------------------------------------------------------- trading floor
# apps/trading (docs/TRADING.md). The fee is charged on every fill's value, shown before sending.
TRADE_FEE_BPS = env.int("TRADE_FEE_BPS", 10, min=0, max=1000)
# Market orders fill only at a quote younger than this (seconds); an older one is refused.
TRADE_MAX_QUOTE_AGE_SECONDS = env.float("TRADE_MAX_QUOTE_AGE_SECONDS", 3.0, min=0.1)
# A symbol is locked this long after a jump of more than TRADE_LOCK_JUMP_PCT % within
# TRADE_LOCK_WINDOW_SECONDS, after its feed went stale, or after a data gap.
TRADE_LOCK_SECONDS = env.int("TRADE_LOCK_SECONDS", 60, min=1)
TRADE_LOCK_JUMP_PCT = env.float("TRADE_LOCK_JUMP_PCT", 2.0, min=0.01)
TRADE_LOCK_WINDOW_SECONDS = env.float("TRADE_LOCK_WINDOW_SECONDS", 5.0, min=0.5, max=60)
# Shorts: collateral locked at the sale (% of the position's value) and the level below which
# the short is bought in.
TRADE_SHORT_INITIAL_PCT = env.int("TRADE_SHORT_INITIAL_PCT", 150, min=100, max=1000)
TRADE_SHORT_MAINTENANCE_PCT = env.int("TRADE_SHORT_MAINTENANCE_PCT", 130, min=100, max=1000)
if TRADE_SHORT_MAINTENANCE_PCT > TRADE_SHORT_INITIAL_PCT:
    env.errors.append("TRADE_SHORT_MAINTENANCE_PCT must not exceed TRADE_SHORT_INITIAL_PCT")
# The lean route for token-authenticated JSON orders (apps/trading/fastpath.py); off: all through DRF.
TRADE_FAST_PATH = env.bool("TRADE_FAST_PATH", True)
# Orders one player may send per minute (checked in the order's own Redis round trip).
TRADE_ORDERS_PER_MINUTE = env.int("TRADE_ORDERS_PER_MINUTE", 120, min=1)
# Returns leaderboard: fills a player needs in the period to be ranked.
TRADE_LEADERBOARD_MIN_TRADES = env.int("TRADE_LEADERBOARD_MIN_TRADES", 3, min=1)
# Live P&L pushed over /ws/me/ to players with the portfolio open, at most this often.
TRADE_PORTFOLIO_PUSH_SECONDS = env.float("TRADE_PORTFOLIO_PUSH_SECONDS", 1.0, min=1.0)
# Called by the market-data worker with every batch of quotes it writes (dotted paths of
# factories taking ``redis=`` and returning the per-batch callable; empty: none). Off under
# tests, so that the feed's own tests run the feed alone; trading tests name it.
QUOTE_BATCH_HOOKS = env.list("QUOTE_BATCH_HOOKS", [] if TESTING else ["apps.trading.triggers.quote_batch_hook"])
CELERY_BEAT_SCHEDULE.update({
    "trading-expire-day-orders": {"task": "trading.expire_day_orders", "schedule": 60.0},
    # A few minutes after every close (16:00, or 13:00 on early-close days, New York time).
    "trading-session-snapshots": {
        "task": "trading.snapshot_portfolios",
        "schedule": TzAwareCrontab(minute=5, hour="13,16", day_of_week="mon-fri", tz=ZoneInfo(MARKET_TIME_ZONE)),
    },
})

LOG_LEVEL = env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))

env.check()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
    },
}
