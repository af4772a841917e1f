"""Settings and surfaces that fail closed: no embedded database unless asked, no compose start
without a SECRET_KEY, HTTPS from the environment, no staff name in a public payload, refresh
tokens that rotate and a password change that revokes the account's tokens."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.support import factories as f

BASE_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"


def _bare_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in (
        "DATABASE_URL", "REDIS_URL", "STOCKRACE_EMBEDDED", "STOCKRACE_TESTING", "PYTEST_CURRENT_TEST",
        "DJANGO_SETTINGS_MODULE")}
    env.update(SECRET_KEY="a-real-looking-secret-key-for-this-test-only", STOCKRACE_VAR_DIR="/nonexistent/var", **extra)
    return env


def test_web_without_database_url_or_the_embedded_flag_exits_with_a_message(tmp_path):
    # cwd outside the repository: no .env file may supply the variables.
    run = subprocess.run([sys.executable, "-m", "daphne", "-p", "0", "stockrace.asgi:application"], cwd=tmp_path,
                         env={**_bare_env(), "PYTHONPATH": str(BASE_DIR)}, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "DATABASE_URL and REDIS_URL are not set" in run.stderr, run.stderr[-2000:]
    assert "STOCKRACE_EMBEDDED=1" in run.stderr
    assert not Path("/nonexistent/var").exists()


def _settings_of(**env) -> dict:
    code = ("import json, django; django.setup(); from django.conf import settings as s; print(json.dumps("
            "[s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE,"
            " s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER]))")
    run = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "DJANGO_SETTINGS_MODULE": "stockrace.settings", **env})
    assert run.returncode == 0, run.stderr[-2000:]
    import json

    return json.loads(run.stdout.strip().splitlines()[-1])


def test_https_settings_come_from_the_environment():
    assert _settings_of() == [False, 0, False, False, False, None]
    assert _settings_of(SECURE_SSL_REDIRECT="true", SECURE_HSTS_SECONDS="31536000", SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
                        SESSION_COOKIE_SECURE="yes", CSRF_COOKIE_SECURE="on",
                        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto=https") == [
        True, 31536000, True, True, True, ["HTTP_X_FORWARDED_PROTO", "https"]]


def test_compose_has_no_secret_key_default_and_seeds_the_demo_only_when_asked():
    text = (BASE_DIR / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    secret = compose["x-app"]["environment"]["SECRET_KEY"]
    assert re.fullmatch(r"\$\{SECRET_KEY:\?.+\}", secret), secret  # compose refuses to interpolate it unset
    assert "change-me" not in text
    command = " ".join(compose["services"]["migrate"]["command"])
    assert re.search(r'if \[ "\$\$SEED_DEMO" = 1 \]; then python manage.py seed_demo; fi', command), command
    assert compose["services"]["migrate"]["environment"]["SEED_DEMO"] == "${SEED_DEMO:-0}"


@pytest.mark.skipif(subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0
                    if shutil.which("docker") else True, reason="no docker compose on this machine")
def test_docker_compose_config_fails_without_a_secret_key():
    run = subprocess.run(["docker", "compose", "config"], cwd=BASE_DIR, capture_output=True, text=True,
                         env=_bare_env(SECRET_KEY=""))
    assert run.returncode != 0 and "SECRET_KEY" in run.stderr


@pytest.mark.django_db
def test_a_staff_cancellation_names_no_staff_member_publicly(client):
    staff = get_user_model().objects.create_user(username="secret-admin-name", password="x", is_staff=True,
                                                 is_superuser=True)
    client.force_login(staff)
    race = f.RaceFactory(state="open")
    client.post("/admin/races/race/", {"action": "cancel_with_refunds", "_selected_action": [race.pk]})
    race.refresh_from_db()
    assert race.state == "cancelled"
    public = APIClient().get(f"/api/v1/races/{race.pk}/")
    assert public.status_code == 200 and "cancelled by staff" in public.content.decode()
    assert "secret-admin-name" not in public.content.decode()


@pytest.mark.django_db(transaction=True)
def test_refresh_tokens_rotate_and_a_password_change_revokes_every_token(django_user_model):
    from apps.accounts.services import user_register

    user = user_register(username="rotator", password=PASSWORD)
    client = APIClient()
    pair = client.post("/api/v1/auth/token/", {"username": "rotator", "password": PASSWORD}, format="json").json()
    rotated = client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert rotated.status_code == 200 and rotated.json()["refresh"] != pair["refresh"]
    reused = client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert reused.status_code == 401  # the old one was blacklisted by its rotation

    access, refresh = rotated.json()["access"], rotated.json()["refresh"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get("/api/v1/me/").status_code == 200
    race = f.RaceFactory(state="open")
    bet = {"kind": "winner", "symbol": "AAPL", "stake": 1}
    assert client.post(f"/api/v1/races/{race.pk}/bets/", {**bet, "symbol": "NOPE"}, format="json").status_code == 400

    user.set_password("another-long-passphrase")
    user.save()
    assert client.get("/api/v1/me/").status_code == 401
    assert client.post(f"/api/v1/races/{race.pk}/bets/", bet, format="json").status_code == 401  # cache consulted
    fresh = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert fresh.status_code == 401


@pytest.mark.django_db
def test_the_websocket_api_is_documented_beside_the_rest_docs(client):
    response = client.get("/api/docs/websockets/")
    assert response.status_code == 200
    text = response.content.decode()
    for message in ("snapshot", "frame", "room_event", "hello", "user_event", "auth", "quotes_request", "quote",
                    "Last-Event-ID", "4429", "1009"):
        assert message in text, message
