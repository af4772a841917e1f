"""manage.py economy_backtest — how simple betting strategies fare against the game's odds.

    .venv/bin/python manage.py economy_backtest                       # the shared data, 12,000 races
    .venv/bin/python manage.py economy_backtest --bars data/AAPL_1min.csv data/MSFT_1min.csv --races 2000
    .venv/bin/python manage.py economy_backtest --daily data/*_data.csv --json

Races are built from real bar files (the layouts ``import_bars`` reads), priced by the code bet
placement uses and scored by settlement's scoring (apps.bets.backtest; docs/ECONOMY.md). Each
strategy's mean return per point staked comes with its 95 % confidence interval, clustered by day.
"""
from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.bets import backtest
from apps.market.bar_files import BarFileError

JSON_KEYS = ("name", "mean", "ci_low", "ci_high", "hit_rate", "bets")


class Command(BaseCommand):
    help = "Backtest betting strategies on real bars: mean return per point staked, 95% CI by day, hit rate."

    def add_arguments(self, parser):
        parser.add_argument("--bars", nargs="+", metavar="FILE", help="one-minute bar files (default: the shared data)")
        parser.add_argument("--daily", nargs="+", metavar="FILE", help="daily bar files (default: the shared data)")
        parser.add_argument("--races", type=int, default=12_000, help="races to build (default 12000)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the race builder and the strategies")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--tz", default="America/New_York", help="zone of times without one in the files")
        parser.add_argument("--label", choices=("end", "start"), default="end",
                            help="whether an intraday bar's time is its start or its end (default end)")

    def handle(self, *args, bars, daily, races, seed, json: bool, tz, label, **options):
        if races < 1:
            raise CommandError("--races must be at least 1")
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise CommandError(f"unknown time zone {tz!r}") from None
        defaults = backtest.default_files()
        if bars is None and daily is None and not any(defaults):
            raise CommandError(f"no bar files given and no shared data in {backtest.SHARED_MARKET}")
        try:
            result = backtest.run(bars=[Path(f) for f in bars] if bars is not None else None,
                                  daily=[Path(f) for f in daily] if daily is not None else None,
                                  races=races, seed=seed, label=label, tz=zone)
        except BarFileError as exc:
            raise CommandError(str(exc)) from None
        if not result["races"]:
            raise CommandError("the files hold too little history to build any race (3 stocks with bars at once)")
        if json:
            self.stdout.write(_json({"strategies": [{k: row[k] for k in JSON_KEYS} for row in result["strategies"]],
                                     "races": result["races"]}))
            return
        self._table(result)

    def _table(self, result: dict) -> None:
        rows = result["strategies"]
        width = max(len(r["name"]) for r in rows)
        margin = settings.BET_HOUSE_MARGIN
        by_duration: dict[str, int] = {}
        for race in result["race_list"]:
            by_duration[race.duration] = by_duration.get(race.duration, 0) + 1
        days = len({race.day for race in result["race_list"]})
        self.stdout.write(f"{result['races']} races ({', '.join(f'{n} × {d}' for d, n in sorted(by_duration.items()))}) "
                          f"on {days} days; margin {margin:g}; stake {backtest.STAKE} per bet")
        self.stdout.write("")
        self.stdout.write(f"| {'strategy'.ljust(width)} | mean | 95 % CI (by day) | hit rate | bets |")
        self.stdout.write(f"|{'-' * (width + 2)}|-----:|:----------------:|---------:|-----:|")
        for r in rows:
            self.stdout.write(f"| {r['name'].ljust(width)} | {r['mean']:.3f} | {r['ci_low']:.3f} … {r['ci_high']:.3f} "
                              f"| {r['hit_rate']:.1%} | {r['bets']} |")
        worst_mean = max(rows, key=lambda r: r["mean"])
        worst_high = max(rows, key=lambda r: r["ci_high"])
        self.stdout.write("")
        self.stdout.write(f"highest mean: {worst_mean['mean']:.3f} ({worst_mean['name']}); "
                          f"limit 1 − margin/2 = {1 - margin / 2:.3f}: {'ok' if worst_mean['mean'] <= 1 - margin / 2 else 'OVER'}")
        self.stdout.write(f"highest upper 95 % bound: {worst_high['ci_high']:.3f} ({worst_high['name']}); "
                          f"limit 1.000: {'ok' if worst_high['ci_high'] <= 1.0 else 'OVER'}")
        slope = backtest.momentum_slope(result["race_list"])
        self.stdout.write(f"momentum → race move (both in units of the stock's σ, relative to the race's mean): slope "
                          f"{slope['slope']:+.3f}, 95 % CI {slope['ci_low']:+.3f} … {slope['ci_high']:+.3f} "
                          f"over {slope['n']} stock-races")
        calibration = backtest.calibration(result["race_list"])
        for kind, table in calibration.items():
            self.stdout.write("")
            self.stdout.write(f"calibration, {kind} (by decile of the model's chance):")
            self.stdout.write("| decile | predicted | observed | 95 % CI of the gap | n |")
            self.stdout.write("|---:|---:|---:|:---:|---:|")
            for row in table:
                self.stdout.write(f"| {row['decile']} | {row['predicted']:.3f} | {row['observed']:.3f} | "
                                  f"{row['gap_low']:+.3f} … {row['gap_high']:+.3f}{'' if row['ok'] else ' ✗'} | {row['n']} |")


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)
