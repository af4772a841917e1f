"""`make run`'s launcher end to end: a fresh var/ directory, every process up, /healthz 200,
the demo logins working, Ctrl-C leaving nothing behind, and a second start keeping the data.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from apps.core.management.commands.seed_demo import DEMO_LOGINS

BASE_DIR = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, data: dict | None = None, token: str | None = None) -> tuple[int, dict | str]:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw, status = resp.read().decode(), resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read().decode(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def staff_can_open_admin(url: str, username: str, password: str) -> bool:
    import http.cookiejar
    import re
    import urllib.parse

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{url}/admin/login/?next=/admin/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password,
                                   "next": "/admin/"}).encode()
    req = urllib.request.Request(f"{url}/admin/login/?next=/admin/", data=body, headers={"Referer": url})
    with opener.open(req, timeout=10) as resp:
        page = resp.read().decode()
        return resp.geturl().endswith("/admin/") and "Log out" in page


class Stack:
    def __init__(self, var_dir: Path):
        self.var_dir = var_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "REDIS_URL", "STOCKRACE_TESTING", "PYTEST_CURRENT_TEST",
                                 "STOCKRACE_TEST_DB_NAME", "REDIS_TEST_DB", "CELERY_TASK_ALWAYS_EAGER")}
        self.env.update(STOCKRACE_VAR_DIR=str(var_dir), HTTP_PORT=str(self.port),
                        EXCHANGE_SIM_PORT=str(free_port()), PYTHONUNBUFFERED="1")
        self.log = var_dir / "launcher.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "stockrace.launcher"], cwd=BASE_DIR, env=self.env,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)

    def wait_healthy(self, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"launcher exited early:\n{self.log.read_text()[-4000:]}"
            try:
                status, last = request(f"{self.url}/healthz")
                if status == 200:
                    return last
            except OSError:
                pass
            time.sleep(1)
        raise AssertionError(f"/healthz never answered 200; last: {last}\n{self.log.read_text()[-4000:]}")

    def stop(self) -> int:
        if self.proc.poll() is not None:
            return self.proc.returncode
        os.killpg(self.proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise

    def leftovers(self) -> list[str]:
        marker = str(self.var_dir)
        found = []
        for proc in psutil.process_iter(["pid", "cmdline", "environ"]):
            try:
                cmd = " ".join(proc.info["cmdline"] or [])
                env = proc.info["environ"] or {}
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if marker in cmd or env.get("STOCKRACE_VAR_DIR") == marker:
                found.append(f"{proc.info['pid']}: {cmd}")
        return found


def test_run_brings_everything_up_and_ctrl_c_stops_it_all(tmp_path):
    stack = Stack(tmp_path / "var")
    stack.var_dir.mkdir()
    stack.start()
    try:
        health = stack.wait_healthy()
        assert health["failing"] == []

        staff, staff_password = DEMO_LOGINS[0]
        player, player_password = DEMO_LOGINS[1]
        status, tokens = request(f"{stack.url}/api/v1/auth/token/", {"username": player, "password": player_password})
        assert status == 200 and tokens["access"]

        assert staff_can_open_admin(stack.url, staff, staff_password)

        status, page = request(f"{stack.url}/api/docs/")
        assert status == 200 and "swagger" in page.lower()

        status, created = request(f"{stack.url}/api/v1/auth/register/",
                                  {"username": "persisted", "password": "tr1cky-Passphrase"})
        assert status == 201, created
        assert "StockRace is running at" in stack.log.read_text()
    finally:
        code = stack.stop()
    assert code == 0, stack.log.read_text()[-4000:]
    assert stack.leftovers() == []

    # A second start keeps the data of the first.
    again = Stack(stack.var_dir)
    again.start()
    try:
        again.wait_healthy()
        status, tokens = request(f"{again.url}/api/v1/auth/token/",
                                 {"username": "persisted", "password": "tr1cky-Passphrase"})
        assert status == 200, tokens
    finally:
        again.stop()
    assert again.leftovers() == []
