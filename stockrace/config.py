"""Typed reading of settings from the environment.

Every value is checked when the settings load; all bad values are reported together in one
``ImproperlyConfigured`` so an operator fixes them in one go instead of one per restart.
"""
from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Env:
    def __init__(self, environ: os._Environ | dict | None = None):
        self.environ = os.environ if environ is None else environ
        self.errors: list[str] = []

    def _raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        return None if value is None else value.strip()

    def str(self, name: str, default: str) -> str:
        raw = self._raw(name)
        return default if raw is None or raw == "" else raw

    def bool(self, name: str, default: bool) -> bool:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        self.errors.append(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no)")
        return default

    def int(self, name: str, default: int, *, min: int | None = None, max: int | None = None) -> int:
        raw = self._raw(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            self.errors.append(f"{name}={raw!r} is not a whole number")
            return default
        return self._bounded(name, value, default, min, max)

    def float(self, name: str, default: float, *, min: float | None = None, max: float | None = None) -> float:
        raw = self._raw(name)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            self.errors.append(f"{name}={raw!r} is not a number")
            return default
        return self._bounded(name, value, default, min, max)

    def _bounded(self, name, value, default, lo, hi):
        if lo is not None and value < lo:
            self.errors.append(f"{name}={value} is below the minimum {lo}")
            return default
        if hi is not None and value > hi:
            self.errors.append(f"{name}={value} is above the maximum {hi}")
            return default
        return value

    def list(self, name: str, default: list[str]) -> list[str]:
        raw = self._raw(name)
        if raw is None:
            return default
        return [item.strip() for item in raw.split(",") if item.strip()]

    def rate(self, name: str, default: str) -> str:
        """A DRF throttle rate such as 60/min (periods: s, sec, m, min, h, hour, d, day)."""
        import re

        value = self.str(name, default)
        if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
            self.errors.append(f"{name}={value!r} is not a rate like 60/min (number/s|min|hour|day)")
            return default
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.str(name, default)
        if value not in choices:
            self.errors.append(f"{name}={value!r} must be one of: {', '.join(choices)}")
            return default
        return value

    def check(self) -> None:
        if self.errors:
            lines = "\n  - ".join(self.errors)
            raise ImproperlyConfigured(f"Bad settings in the environment:\n  - {lines}\nSee .env.example and the README.")


def load_dotenv(path) -> None:
    """Read KEY=value lines from a .env file into os.environ, never overriding what is set
    already and skipping empty values (so a copied .env.example changes nothing)."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        return
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.removeprefix("export ").strip()
        value = value.strip().strip("'\"")
        if value and key not in os.environ:
            os.environ[key] = value


def parse_database_url(url: str, errors: list[str]) -> dict:
    """postgres://user:pass@host:port/name?opt=value, or a unix socket given as ?host=/dir."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        errors.append(f"DATABASE_URL must be a postgres:// or postgresql:// URL (got scheme {parts.scheme!r}); "
                      "StockRace runs on PostgreSQL only")
        return {}
    name = unquote(parts.path.lstrip("/"))
    if not name:
        errors.append("DATABASE_URL names no database (postgresql://user@host:5432/DBNAME)")
        return {}
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    host = options.pop("host", None) or unquote(parts.hostname or "")
    try:
        port = parts.port
    except ValueError:
        errors.append("DATABASE_URL has a port that is not a number")
        port = None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
        "OPTIONS": options,
    }


def proxy_ssl_header(value: str, errors: list[str]) -> tuple[str, str] | None:
    """``X-Forwarded-Proto=https`` as Django's SECURE_PROXY_SSL_HEADER (HTTP_X_FORWARDED_PROTO, https)."""
    if not value:
        return None
    name, sep, expected = value.partition("=")
    name, expected = name.strip(), expected.strip()
    if not sep or not name or not expected or not all(c.isalnum() or c == "-" for c in name):
        errors.append(f"SECURE_PROXY_SSL_HEADER={value!r} must look like X-Forwarded-Proto=https")
        return None
    return "HTTP_" + name.upper().replace("-", "_"), expected


def check_redis_url(url: str, errors: list[str]) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        errors.append(f"REDIS_URL must start with redis://, rediss:// or unix:// (got {url!r})")


def redis_url_with_db(url: str, db: int) -> str:
    """The same server as ``url`` with another logical database selected."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("db="))
        query = f"{query}&db={db}" if query else f"db={db}"
        return f"unix://{parts.path}?{query}"
    netloc = parts.netloc
    return f"{parts.scheme}://{netloc}/{db}" + (f"?{parts.query}" if parts.query else "")


def redis_db(url: str) -> int:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        db = parse_qs(parts.query).get("db", ["0"])[-1]
    else:
        db = parts.path.lstrip("/") or "0"
    try:
        return int(db)
    except ValueError:
        return 0


def kombu_redis_url(url: str) -> str:
    """Celery/kombu spell a unix-socket Redis as redis+socket:///path?virtual_host=N."""
    parts = urlsplit(url)
    if parts.scheme != "unix":
        return url
    return f"redis+socket://{parts.path}?virtual_host={redis_db(url)}"
