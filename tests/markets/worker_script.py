"""A separate process running the market resolution task's body (started by the crash tests).

usage: worker_script.py resolve MARKET_ID [--pause-at CHECKPOINT --marker FILE] [--go FILE]
Prints one JSON line. With --pause-at, the resolution stops inside its transaction at that
checkpoint, writes the marker file and sleeps until killed. With --go, it connects, says it is
ready (a ``ready-PID`` file beside the go file) and waits for the go file before resolving.
"""
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockrace.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from apps.markets import resolution  # noqa: E402
from apps.markets.models import Market  # noqa: E402
from apps.markets.tasks import market_resolve_task  # noqa: E402


def option(name: str) -> str | None:
    args = sys.argv[3:]
    return args[args.index(name) + 1] if name in args else None


if __name__ == "__main__":
    market_id = int(sys.argv[2])
    pause, marker, go = option("--pause-at"), option("--marker"), option("--go")
    if pause:
        def checkpoint(name: str) -> None:
            if name == pause:
                Path(marker).write_text(str(os.getpid()))
                time.sleep(3600)

        resolution.checkpoint = checkpoint
    if go:
        connection.ensure_connection()
        Path(go).with_name(f"ready-{os.getpid()}").write_text("ready")
        while not Path(go).exists():
            time.sleep(0.001)
    market_resolve_task.run(market_id)  # the task's body, as a Celery worker runs it
    market = Market.objects.get(pk=market_id)
    print(json.dumps({"state": market.state, "resolution": market.resolution}))
