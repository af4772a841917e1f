"""`make run`'s process supervisor: every process of the Procfile with one prefixed log stream,
each started again when it exits unexpectedly, all stopped together on request.

honcho, which ran them before, stops the whole stack as soon as one process exits — a Celery
worker that dies on a Redis restart (kombu, docs/RELIABILITY.md) took the site down with it.
Here a process that exits while the stack is meant to run is logged with its name and exit
status and started again after a back-off (1 s, doubling to 30 s while it keeps dying within
30 s of its start; back to 1 s once it has run that long). Its whole process group is killed
first, so that nothing it left behind (a prefork pool's children) outlives it.

Each process runs ``/bin/sh -c <its Procfile line>`` (the lines use ``${VAR:-default}``) in a
session of its own: a terminal's Ctrl-C reaches only the launcher, which stops them all at once
(SIGTERM to each group, SIGKILL to what is left after ``stop_timeout`` seconds).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0
STABLE_AFTER = 30.0  # seconds a process must run for its next exit to start the back-off afresh
COLOURS = ("36", "33", "32", "35", "34", "31", "96", "93")


@dataclass(frozen=True)
class Program:
    name: str
    command: str


def read_procfile(path: Path) -> list[Program]:
    """``name: command`` lines; blank lines and ``#`` comments are skipped."""
    programs = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip() or not command.strip():
            raise ValueError(f"{path}:{number}: expected 'name: command', got {line!r}")
        programs.append(Program(name.strip(), command.strip()))
    return programs


@dataclass
class Child:
    program: Program
    colour: str
    proc: subprocess.Popen | None = None
    started: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None  # monotonic time of the next start, while it is down
    readers: list[threading.Thread] = field(default_factory=list)


class Supervisor:
    def __init__(self, programs: list[Program], env: dict[str, str], *, cwd: Path | None = None,
                 out=None, stop_timeout: float = 10.0):
        self.env = env
        self.cwd = cwd
        self.out = out or sys.stdout
        self.stop_timeout = stop_timeout
        self.width = max((len(p.name) for p in programs), default=6)
        colour = self.out.isatty() if hasattr(self.out, "isatty") else False
        self.children = [Child(p, COLOURS[i % len(COLOURS)] if colour else "") for i, p in enumerate(programs)]
        self.stopping = threading.Event()
        self._print_lock = threading.Lock()

    # -- the log stream
    def line(self, name: str, text: str, colour: str = "") -> None:
        stamp = time.strftime("%H:%M:%S")
        prefix = f"{stamp} {name:<{self.width}} |"
        if colour:
            prefix = f"\x1b[{colour}m{prefix}\x1b[0m"
        with self._print_lock:
            self.out.write(f"{prefix} {text}\n")
            self.out.flush()

    def say(self, text: str) -> None:
        with self._print_lock:
            self.out.write(f"[stockrace] {text}\n")
            self.out.flush()

    def _pump(self, child: Child, stream) -> None:
        for raw in iter(stream.readline, b""):
            self.line(child.program.name, raw.decode(errors="replace").rstrip("\n"), child.colour)
        stream.close()

    # -- starting and restarting
    def _start(self, child: Child) -> None:
        proc = subprocess.Popen(["/bin/sh", "-c", child.program.command], cwd=self.cwd, env=self.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        child.proc, child.started, child.restart_at = proc, time.monotonic(), None
        reader = threading.Thread(target=self._pump, args=(child, proc.stdout), daemon=True,
                                  name=f"log-{child.program.name}")
        reader.start()
        child.readers = [r for r in child.readers if r.is_alive()] + [reader]
        self.say(f"{child.program.name} started (pid {proc.pid})")

    def start_all(self) -> None:
        for child in self.children:
            self._start(child)

    def _exited(self, child: Child, code: int) -> None:
        ran = time.monotonic() - child.started
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        _kill_group(child.proc.pid, signal.SIGKILL)  # anything of it left: a pool's children
        child.backoff = BACKOFF_FIRST if ran >= STABLE_AFTER else child.backoff
        child.restart_at = time.monotonic() + child.backoff
        child.restarts += 1
        self.say(f"{child.program.name} exited unexpectedly ({how}) after {ran:.0f} s; "
                  f"restarting in {child.backoff:g} s (restart {child.restarts})")
        child.backoff = min(child.backoff * 2, BACKOFF_MAX)

    def supervise(self, poll: float = 0.2) -> None:
        """Until ``stopping`` is set: restart what exits, after its back-off."""
        while not self.stopping.wait(poll):
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is None:
                    code = child.proc.poll()
                    if code is not None and not self.stopping.is_set():
                        self._exited(child, code)
                elif now >= child.restart_at and not self.stopping.is_set():
                    self._start(child)

    # -- stopping
    def stop_all(self) -> None:
        """SIGTERM to every process group, SIGKILL to what still runs after ``stop_timeout``."""
        self.stopping.set()
        running = [c for c in self.children if c.proc is not None and c.restart_at is None]
        for child in running:
            _kill_group(child.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in running:
            try:
                child.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.program.name} did not stop in {self.stop_timeout:g} s: killing it")
        self.kill_all()

    def kill_all(self) -> None:
        self.stopping.set()
        for child in self.children:
            if child.proc is not None:
                _kill_group(child.proc.pid, signal.SIGKILL)
        for child in self.children:
            if child.proc is not None:
                try:
                    child.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            for reader in child.readers:
                reader.join(timeout=2)


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
