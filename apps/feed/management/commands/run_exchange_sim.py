"""``manage.py run_exchange_sim``: the simulated exchange, a process of its own.

It streams trades and quotes in Alpaca's v2 format (``ws://HOST:PORT/v2/sim``) and serves
Alpaca's REST paths for assets and history on the same port. Prices come from the GBM model
(the default) or from real 1-minute bars replayed at a chosen speed (``--replay DIR``, or
MARKET_DATA_PROVIDER=replay). State lives under var/exchange_sim/ so a restart continues
the same price path and serves the trades of its downtime as history.
"""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from django.conf import settings

from apps.core.workers import WorkerCommand
from apps.feed.exchange_sim.history import GbmEngine
from apps.feed.exchange_sim.model import GbmModel
from apps.feed.exchange_sim.replay import ReplayEngine
from apps.feed.exchange_sim.server import run_server
from apps.feed.exchange_sim.universe import load_listings


class Command(WorkerCommand):
    help = "Simulated exchange: a WebSocket trade/quote stream and a REST API in Alpaca's v2 format."
    worker_name = "exchange-sim"

    def add_arguments(self, parser):
        replaying = settings.MARKET_DATA_PROVIDER == "replay"
        parser.add_argument("--host", default=settings.EXCHANGE_SIM_HOST)
        parser.add_argument("--port", type=int, default=settings.EXCHANGE_SIM_PORT)
        parser.add_argument("--seed", type=int, default=settings.EXCHANGE_SIM_SEED)
        parser.add_argument("--symbols", type=int, default=settings.EXCHANGE_SIM_SYMBOLS,
                            help="how many symbols to trade (0: every listed stock; more: synthetic ones added)")
        parser.add_argument("--ticks-per-second", type=float, default=settings.EXCHANGE_SIM_TICKS_PER_SECOND)
        parser.add_argument("--volatility", type=float, default=settings.EXCHANGE_SIM_VOLATILITY)
        parser.add_argument("--replay", metavar="DIR", default=settings.REPLAY_DIR if replaying else None,
                            help="replay the *_1min.csv bars in DIR instead of simulating")
        parser.add_argument("--speed", type=float, default=settings.REPLAY_SPEED, help="replay speed (60: a minute a second)")
        parser.add_argument("--state-dir", default=str(Path(settings.BASE_DIR) / "var" / "exchange_sim"),
                            help="where checkpoints live ('' keeps nothing)")
        parser.add_argument("--no-database", action="store_true", help="use the demo universe, not the Stock table")
        parser.add_argument("--synthetic", action="store_true",
                            help="trade only synthetic symbols SIM001… (tests and benchmarks)")

    def run(self, **options):
        logging.getLogger("websockets").setLevel(logging.WARNING)  # one line per REST call is noise
        state_dir = Path(options["state_dir"]) if options["state_dir"] else None
        now = time.time()
        listings = load_listings(options["symbols"], options["seed"], use_database=not options["no_database"],
                                 synthetic_only=options["synthetic"])
        if options["replay"]:
            names = {listing.symbol: listing for listing in listings}
            engine = ReplayEngine(Path(options["replay"]), seed=options["seed"], speed=options["speed"],
                                  ticks_per_second=options["ticks_per_second"], state_dir=state_dir, now=now,
                                  names=names)
            listings, mode = engine.listings, f"replay {options['speed']:g}x"
        else:
            model = GbmModel(listings, seed=options["seed"], ticks_per_second=options["ticks_per_second"],
                             volatility=options["volatility"])
            engine = GbmEngine(model, state_dir=state_dir, now=now)
            mode = "gbm"
        self.log.info("exchange simulator: %d symbols, %s, seed %d, %.1f ticks/s per symbol", len(listings), mode,
                      options["seed"], options["ticks_per_second"])
        asyncio.run(run_server(engine, listings, host=options["host"], port=options["port"], mode=mode,
                               should_stop=self.stopping.is_set))
