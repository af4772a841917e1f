"""Race code in separate Python processes on the test database (real concurrency, real kills):
tests/races/worker_script.py started through tests/support."""
from __future__ import annotations

import json
from pathlib import Path

from tests.support.env import PYTHON
from tests.support.processes import Process

WORKER = Path(__file__).with_name("worker_script.py")


def start(*args: str) -> Process:
    """Start worker_script.py with ``args``; it prints one JSON line (see ``result``)."""
    return Process(f"race-worker-{args[0]}", [PYTHON, str(WORKER), *args])


def result(proc: Process, timeout: float = 60) -> dict:
    code = proc.proc.wait(timeout)
    assert code == 0, f"worker failed ({code})\n{proc.tail()}"
    return json.loads([line for line in proc.log().splitlines() if line.startswith("{")][-1])
