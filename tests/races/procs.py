"""Running race code in separate Python processes on the test database (real concurrency, real kills)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
WORKER = Path(__file__).with_name("worker_script.py")


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    if db["HOST"].startswith("/"):
        return f"postgresql://{auth}@/{db['NAME']}?host={db['HOST']}"
    return f"postgresql://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url(), "STOCKRACE_TESTING": "1",
           "DJANGO_SETTINGS_MODULE": "stockrace.settings", **extra}
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def start(*args: str, **env: str) -> subprocess.Popen:
    """Start tests/races/worker_script.py with args; its stdout is one JSON line."""
    return subprocess.Popen([sys.executable, str(WORKER), *args], cwd=BASE_DIR, env=child_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result(proc: subprocess.Popen, timeout: float = 60) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"worker failed ({proc.returncode}): {err[-2000:]}"
    return json.loads(out.strip().splitlines()[-1])
