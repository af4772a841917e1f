"""Real concurrency in one process: work run in threads released at the same instant."""
from __future__ import annotations

import threading
from typing import Callable

from django.db import connections


def at_once(count: int, work: Callable[[int], object], *, timeout: float = 120) -> list:
    """Run ``work(i)`` for i in range(count), each in its own thread (and so on its own database
    connection, closed afterwards), all released together by a barrier. Returns the results in
    order; an exception in any thread is raised here once all are done."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), name=f"at-once-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"threads still running after {timeout} s: {stuck}"
    if errors:
        raise errors[0]
    return results
