"""One frame to many sockets with plain ``send()`` calls, spread over a few threads.

Most of a fan-out's cost is kernel time inside ``send()`` (on loopback the syscall also runs the
receiver's TCP path), and ``socket.send`` releases the GIL, so a slice of the sockets per thread
uses both cores. The event-loop thread sends one slice itself and waits for the others: nothing
else runs on the loop meanwhile, so no Twisted object is touched off the loop thread, no other
write to these sockets can interleave, and the next fan-out starts only after this one ended
(frames stay in order per socket). What ``send()`` did not take is handed back to the caller,
on the loop thread, to go through the server's buffered write.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

PARALLEL_MIN = 64  # below this many sockets a thread hand-off costs more than it saves
SEND_ERROR = -1


def _send_range(sends: Sequence[Callable[[bytes], int]], datas: Sequence[bytes], results: list[int],
                start: int, stop: int) -> None:
    for i in range(start, stop):
        try:
            results[i] = sends[i](datas[i])
        except BlockingIOError:
            results[i] = 0
        except OSError:
            results[i] = SEND_ERROR


class ParallelSender:
    """``send_all(sends, datas)`` calls each ``sends[i](datas[i])`` once and returns how many bytes
    each took (``SEND_ERROR`` for a socket error), using up to ``threads`` threads including the
    caller's. The sends must go to distinct sockets: two to one socket could interleave."""

    def __init__(self, threads: int = 2):
        self.threads = max(1, threads)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="ws-fanout")
            return self._pool

    def send_all(self, sends: Sequence[Callable[[bytes], int]], datas: Sequence[bytes]) -> list[int]:
        n = len(sends)
        results = [0] * n
        if self.threads == 1 or n < PARALLEL_MIN:
            _send_range(sends, datas, results, 0, n)
            return results
        pool = self._executor()
        step = -(-n // self.threads)
        futures = [pool.submit(_send_range, sends, datas, results, start, min(n, start + step))
                   for start in range(step, n, step)]
        _send_range(sends, datas, results, 0, step)  # the caller's own slice
        for future in futures:
            future.result()
        return results

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
