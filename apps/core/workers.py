"""Base for long-running worker commands: clean stop on SIGTERM/SIGINT, periodic loop."""
from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand


class WorkerCommand(BaseCommand):
    """A management command that runs until told to stop.

    Subclasses implement ``run()`` and check ``self.stopping`` (a threading.Event) in their
    loops, waiting with ``self.stopping.wait(seconds)`` so a stop is noticed at once.
    """

    worker_name = "worker"

    def handle(self, *args, **options):
        self.log = logging.getLogger(f"stockrace.{self.worker_name}")
        self.stopping = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        self.options = options
        try:
            self.run(**options)
        finally:
            self.log.info("%s stopped", self.worker_name)

    def _on_signal(self, signum, frame):
        if self.stopping.is_set():
            raise SystemExit(1)  # a second signal: stop now
        self.log.info("%s stopping (signal %s)", self.worker_name, signal.Signals(signum).name)
        self.stopping.set()

    def run(self, **options):  # pragma: no cover - abstract
        raise NotImplementedError


class PlaceholderWorker(WorkerCommand):
    """Stands in for a process whose issue has not landed yet, and says so in the log."""

    issue = ""

    def run(self, **options):
        self.log.warning("%s is a placeholder until %s lands; it idles.", self.worker_name, self.issue)
        while not self.stopping.wait(3600):
            pass
