"""`make run`'s supervisor (stockrace/supervisor.py) on small shell programs: one prefixed log
stream, a program that exits is started again (and says so), one that runs is left alone, and
stopping takes every process group down — a child that ignores SIGTERM and a grandchild too."""
from __future__ import annotations

import io
import os
import threading
import time

import psutil
import pytest

from stockrace.supervisor import Program, Supervisor, read_procfile


def _wait(check, what: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"not {what} within {timeout} s")


def test_the_procfile_is_read_as_name_and_command(tmp_path):
    path = tmp_path / "Procfile"
    path.write_text("# the stack\nweb: daphne -e tcp:${HTTP_PORT:-8000} app\n\nworker: celery worker -n w@%h\n")
    assert read_procfile(path) == [Program("web", "daphne -e tcp:${HTTP_PORT:-8000} app"),
                                   Program("worker", "celery worker -n w@%h")]
    path.write_text("web daphne\n")
    with pytest.raises(ValueError, match="expected 'name: command'"):
        read_procfile(path)


def test_a_program_that_exits_is_started_again_and_stopping_leaves_nothing(tmp_path):
    out = io.StringIO()
    marker = tmp_path / "started"
    programs = [
        Program("crashy", f"echo started >> {marker}; echo about to fail; exit 3"),
        Program("steady", "trap '' TERM; sleep 300 & sleep 300"),  # ignores SIGTERM; a grandchild too
    ]
    supervisor = Supervisor(programs, dict(os.environ), out=out, stop_timeout=1.0)
    supervisor.start_all()
    runner = threading.Thread(target=supervisor.supervise, kwargs={"poll": 0.05})
    runner.start()
    try:
        _wait(lambda: marker.exists() and marker.read_text().count("started") >= 3, "crashy started three times")
        steady = supervisor.children[1]
        assert steady.restarts == 0 and steady.proc.poll() is None
        group = [p.pid for p in psutil.process_iter() if _in_group(p, steady.proc.pid)]
        assert len(group) >= 2  # the shell and its sleeps
    finally:
        supervisor.stopping.set()
        runner.join(5)
        supervisor.stop_all()
    text = out.getvalue()
    assert "crashy exited unexpectedly (exit status 3)" in text and "restarting in 1 s (restart 1)" in text
    assert "restarting in 2 s (restart 2)" in text  # back-off: it keeps dying at once
    assert any(line.endswith("| about to fail") and " crashy " in line for line in text.splitlines())
    assert "steady did not stop in 1 s: killing it" in text
    assert [pid for pid in group if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"] == []


def _in_group(proc: psutil.Process, pgid: int) -> bool:
    try:
        return os.getpgid(proc.pid) == pgid
    except (ProcessLookupError, psutil.NoSuchProcess):
        return False
