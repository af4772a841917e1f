"""A real daphne on the test database for the hardening tests (tests/support/env.py's
environment and ports). Move onto tests/support/processes.py's ``daphne`` once it settles."""
from __future__ import annotations

import contextlib
import http.client
import signal
import subprocess
import time
from pathlib import Path

from tests.support.env import BASE_DIR, PYTHON, child_env, free_port


class Server:
    def __init__(self, log_path: Path, args: tuple[str, ...], env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc = subprocess.Popen([PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), *args,
                                      "stockrace.asgi:application"], cwd=BASE_DIR, env=child_env(**env),
                                     stdin=subprocess.DEVNULL, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.1)
            finally:
                conn.close()
        raise TimeoutError(f"daphne on {self.port} did not answer:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@contextlib.contextmanager
def daphne(log_path: Path, *args: str, **env):
    """A daphne serving the app on a free port, ready; yields the Server."""
    server = Server(log_path, args, env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
