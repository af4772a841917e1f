"""A separate process for the race concurrency tests (started by tests/races/procs.py).

usage: worker_script.py settle RACE_ID [--pause-at CHECKPOINT --marker FILE]
       worker_script.py transition RACE_ID ACTION GO_FILE
Prints one JSON line. With --pause-at, settlement stops inside its transaction at that
checkpoint, touches the marker file and sleeps until killed.
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

from apps.races import lifecycle, settlement  # noqa: E402


def settle(race_id: int, pause_at: str | None, marker: str | None) -> dict:
    if pause_at:
        def checkpoint(name: str) -> None:
            if name == pause_at:
                Path(marker).write_text(str(os.getpid()))
                time.sleep(3600)

        settlement.checkpoint = checkpoint
    outcome = settlement.race_settle(race_id=race_id)
    return {"settled": outcome is not None, "paid": outcome.paid if outcome else 0}


def transition(race_id: int, action: str, go_file: str) -> dict:
    from django.db import connection

    connection.ensure_connection()  # connect before the start line, so both processes race the UPDATE
    Path(go_file).with_name(f"ready-{os.getpid()}").write_text("ready")
    while not Path(go_file).exists():
        time.sleep(0.001)
    func = {"open": lifecycle.race_open, "start": lifecycle.race_start, "finish": lifecycle.race_finish,
            "cancel": lambda race_id: lifecycle.race_cancel(race_id=race_id, cause="race test")}[action]
    return {"won": bool(func(race_id=race_id))}


if __name__ == "__main__":
    command, race_id = sys.argv[1], int(sys.argv[2])
    if command == "settle":
        args = sys.argv[3:]
        pause = args[args.index("--pause-at") + 1] if "--pause-at" in args else None
        marker = args[args.index("--marker") + 1] if "--marker" in args else None
        print(json.dumps(settle(race_id, pause, marker)))
    else:
        print(json.dumps(transition(race_id, sys.argv[3], sys.argv[4])))
