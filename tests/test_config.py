"""Settings come from the environment and bad values fail at start with a clear message."""
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from stockrace import config


def test_all_bad_values_are_reported_together():
    env = config.Env({"DEBUG": "maybe", "BET_COOLDOWN_SECONDS": "-3", "SIGNUP_BONUS": "lots"})
    env.bool("DEBUG", False)
    env.float("BET_COOLDOWN_SECONDS", 2.0, min=0)
    env.int("SIGNUP_BONUS", 1000, min=0)
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env.check()
    message = str(excinfo.value)
    assert "DEBUG='maybe' is not a boolean" in message
    assert "BET_COOLDOWN_SECONDS=-3.0 is below the minimum 0" in message
    assert "SIGNUP_BONUS='lots' is not a whole number" in message


def test_database_url_must_be_postgres():
    errors = []
    config.parse_database_url("sqlite:///db.sqlite3", errors)
    assert errors and "PostgreSQL only" in errors[0]


def test_database_url_with_unix_socket():
    errors = []
    db = config.parse_database_url("postgresql://postgres@/stockrace?host=/tmp/pg", errors)
    assert not errors
    assert db["NAME"] == "stockrace" and db["HOST"] == "/tmp/pg" and db["USER"] == "postgres"


def test_database_url_with_host_port_and_options():
    errors = []
    db = config.parse_database_url("postgres://u:p%40ss@db.example:6543/game?sslmode=require", errors)
    assert not errors
    assert (db["HOST"], db["PORT"], db["PASSWORD"], db["OPTIONS"]) == ("db.example", "6543", "p@ss",
                                                                       {"sslmode": "require"})


@pytest.mark.parametrize("url,db,expected", [
    ("unix:///var/r.sock", 15, "unix:///var/r.sock?db=15"),
    ("unix:///var/r.sock?db=2", 15, "unix:///var/r.sock?db=15"),
    ("redis://127.0.0.1:6379/0", 15, "redis://127.0.0.1:6379/15"),
    ("redis://127.0.0.1:6379", 3, "redis://127.0.0.1:6379/3"),
])
def test_redis_url_with_db(url, db, expected):
    assert config.redis_url_with_db(url, db) == expected


def test_kombu_spelling_of_a_unix_socket():
    assert config.kombu_redis_url("unix:///x/r.sock?db=15") == "redis+socket:///x/r.sock?virtual_host=15"
    assert config.kombu_redis_url("redis://h:1/2") == "redis://h:1/2"


def test_process_refuses_to_start_with_bad_settings():
    env = {**os.environ, "DEBUG": "perhaps", "REDIS_URL": "memcached://nope", "STOCKRACE_TESTING": "0"}
    env.pop("PYTEST_CURRENT_TEST", None)
    result = subprocess.run([sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "Bad settings in the environment" in result.stderr
    assert "DEBUG='perhaps' is not a boolean" in result.stderr
    assert "REDIS_URL must start with redis://" in result.stderr


def test_throttle_rates_are_checked():
    env = config.Env({"BET_RATE_LIMIT_USER": "fast", "API_THROTTLE_ANON": "10/min"})
    assert env.rate("API_THROTTLE_ANON", "1/min") == "10/min"
    env.rate("BET_RATE_LIMIT_USER", "60/min")
    with pytest.raises(ImproperlyConfigured, match="BET_RATE_LIMIT_USER='fast' is not a rate"):
        env.check()


def test_dotenv_fills_only_missing_non_empty_values(tmp_path, monkeypatch):
    dotenv = tmp_path / ".env"
    dotenv.write_text("# comment\nSR_A=from-file\nSR_B=from-file\nexport SR_C='quoted'\nSR_EMPTY=\n")
    monkeypatch.setenv("SR_B", "from-env")
    for key in ("SR_A", "SR_C", "SR_EMPTY"):
        monkeypatch.delenv(key, raising=False)
    config.load_dotenv(dotenv)
    assert (os.environ["SR_A"], os.environ["SR_B"], os.environ["SR_C"]) == ("from-file", "from-env", "quoted")
    assert "SR_EMPTY" not in os.environ
    for key in ("SR_A", "SR_C"):
        monkeypatch.delenv(key)
