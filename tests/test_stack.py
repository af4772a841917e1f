"""`make run`'s launcher end to end: a fresh var/ directory, every process up, /healthz 200,
the demo logins working, a crashed process (SIGKILL) started again by the supervisor while the
rest runs on, Ctrl-C leaving nothing behind, and a second start keeping the data.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import psutil
import pytest

from apps.web.management.commands.seed_demo import DEMO_LOGINS
from tests.support.env import PYTHON, free_port
from tests.support.http import request
from tests.support.processes import Process

pytestmark = pytest.mark.slow


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
    """``make run``'s launcher on its own var/ directory and port, as a terminal would run it."""

    def __init__(self, var_dir: Path):
        self.var_dir = var_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Not the test settings: the launcher picks its embedded servers and settings itself.
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "REDIS_URL", "STOCKRACE_TESTING", "PYTEST_CURRENT_TEST",
                                 "STOCKRACE_TEST_DB_NAME", "REDIS_TEST_DB", "CELERY_TASK_ALWAYS_EAGER")}
        self.env.update(STOCKRACE_VAR_DIR=str(var_dir), HTTP_PORT=str(self.port),
                        EXCHANGE_SIM_PORT=str(free_port()), PYTHONUNBUFFERED="1")
        self.log = var_dir / "launcher.log"
        self.proc: Process | None = None

    def start(self) -> None:
        self.proc = Process("launcher", [PYTHON, "-m", "stockrace.launcher"], env=self.env, output=self.log,
                            new_session=True)

    def wait_healthy(self, timeout: float = 120) -> dict:
        def healthy():
            try:
                status, body = request(self.url, "GET", "/healthz", timeout=10)
            except OSError:
                return None
            return body if status == 200 else None

        return self.proc.wait_until(healthy, timeout=timeout, what="healthy (/healthz 200)", every=1)

    def stop(self) -> int:
        """Ctrl-C: SIGINT to the launcher's whole process group, as a terminal sends it."""
        if not self.proc.alive():
            return self.proc.returncode
        return self.proc.stop(signal.SIGINT, timeout=60)

    def child(self, program: str) -> psutil.Process:
        """The live process running ``program`` (web: daphne, worker: the Celery worker's main
        process), not the shell that started it."""
        needle = {"web": "daphne", "worker": "celery_app worker"}[program]

        def find():
            found = {}
            for proc in psutil.Process(self.proc.pid).children(recursive=True):
                try:
                    cmd = " ".join(proc.cmdline())
                    if needle in cmd and not cmd.startswith("/bin/sh"):
                        found[proc.pid] = proc
                except psutil.NoSuchProcess:
                    continue
            # The topmost one (a prefork pool's children run the same command line under it).
            return next((p for p in found.values() if p.ppid() not in found), None)

        return self.proc.wait_until(find, timeout=60, what=f"running {program}")

    def crash_and_wait_for_restart(self, program: str) -> None:
        """SIGKILL ``program``'s process; the supervisor must say so and start a new one."""
        victim = self.child(program)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        self.proc.wait_until(lambda: f"{program} exited unexpectedly" in self.log.read_text(), timeout=30,
                             what=f"reporting {program}'s exit")
        replacement = self.proc.wait_until(lambda: (p := self.child(program)).pid != victim.pid and p,
                                           timeout=60, what=f"restarting {program}")
        assert replacement.is_running()

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


@pytest.fixture
def var_parent():
    """A directory the embedded PostgreSQL's own user can reach: pytest's tmp_path lies under
    /tmp/pytest-of-root, which only root may enter."""
    path = Path(tempfile.mkdtemp(prefix="stockrace-stack-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_run_brings_everything_up_and_ctrl_c_stops_it_all(var_parent):
    stack = Stack(var_parent / "var")
    stack.var_dir.mkdir()
    stack.start()
    try:
        health = stack.wait_healthy()
        assert health["failing"] == []

        staff, staff_password = DEMO_LOGINS[0]
        player, player_password = DEMO_LOGINS[1]
        status, tokens = request(stack.url, "POST", "/api/v1/auth/token/",
                                 {"username": player, "password": player_password})
        assert status == 200 and tokens["access"]

        assert staff_can_open_admin(stack.url, staff, staff_password)

        status, page = request(stack.url, "GET", "/api/docs/")
        assert status == 200 and "swagger" in page.lower()

        status, created = request(stack.url, "POST", "/api/v1/auth/register/",
                                  {"username": "persisted", "password": "tr1cky-Passphrase"})
        assert status == 201, created
        assert "StockRace is running at" in stack.log.read_text()

        # A crash does not take the stack down: the supervisor starts the process again.
        for program in ("web", "worker"):
            stack.crash_and_wait_for_restart(program)
            assert stack.wait_healthy()["failing"] == []
        assert stack.proc.alive()
    finally:
        code = stack.stop()
    assert code == 0, stack.log.read_text()[-4000:]
    assert stack.leftovers() == []

    # A second start keeps the data of the first.
    again = Stack(stack.var_dir)
    again.start()
    try:
        again.wait_healthy()
        status, tokens = request(again.url, "POST", "/api/v1/auth/token/",
                                 {"username": "persisted", "password": "tr1cky-Passphrase"})
        assert status == 200, tokens
    finally:
        again.stop()
    assert again.leftovers() == []
