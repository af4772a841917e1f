"""Acceptance: kill the market-data worker (a real process, SIGKILL) while stops rest and while it
is filling a burst of orders, start it again: no order is lost, none fills twice, every point
moved is in the ledger. Real exchange simulator and worker processes, real PostgreSQL and Redis."""
from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.db.models import Count, Sum

from apps.core.redis import get_redis
from apps.market.models import Stock
from apps.market.quotes import read_quotes
from apps.points.models import LedgerEntry
from apps.trading import index
from apps.trading.models import Fill, Order, Position
from apps.trading.rules import parse_order, to_price
from apps.trading.services import order_place
from tests.support.env import free_port
from tests.support.factories import UserFactory
from tests.support.ledger import assert_ledger_balanced
from tests.support.processes import listening, manage

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SYMBOLS = [f"SIM{n:03d}" for n in range(1, 7)]  # the simulator's synthetic listings: nobody else's channels
BURST = 300


def _worker(port: int):
    return manage("run_market_data", "--provider", "simulator", name="market-data", EXCHANGE_SIM_PORT=port,
                  QUOTE_BATCH_HOOKS="apps.trading.triggers.quote_batch_hook", TRADE_LOCK_SECONDS=1,
                  TRADE_LOCK_JUMP_PCT=1000, TRADE_FEE_BPS=10, LOG_LEVEL="INFO")


def _wait(predicate, timeout: float, what: str, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise AssertionError(f"{proc.name} died while waiting for {what}\n{proc.tail()}")
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{proc.tail()}" if proc else ""))


def test_killing_the_worker_loses_no_order_and_fills_none_twice(tmp_path, settings):
    from apps.feed.exchange_sim.universe import synthetic

    settings.TRADE_FEE_BPS = 10
    Stock.objects.bulk_create([Stock(symbol=x.symbol, name=x.name, sector=x.sector, reference_price=x.price)
                               for x in synthetic(6, seed=11)], ignore_conflicts=True)
    players = [UserFactory(balance=60_000) for _ in range(10)]
    port = free_port()
    simulator = manage("run_exchange_sim", "--port", str(port), "--state-dir", str(tmp_path), "--symbols", "6",
                       "--synthetic", "--ticks-per-second", "8", "--seed", "11", "--volatility", "20",
                       name="exchange-sim")
    worker = None
    try:
        simulator.wait_until(listening(port), timeout=30, what="listening")
        worker = _worker(port)
        worker.wait_log("trigger index rebuilt", timeout=60)
        client = get_redis()
        _wait(lambda: len(read_quotes(client, SYMBOLS)) == 6, 30, "quotes of every symbol", worker)

        # Long positions, and stops resting on both sides of the market.
        prices = {s: to_price(q.price) for s, q in read_quotes(client, SYMBOLS).items()}
        stops = []
        for n, player in enumerate(players):
            for symbol in SYMBOLS:
                order_place(user_id=player.pk, spec=parse_order(
                    {"symbol": symbol, "side": "buy", "type": "market", "quantity": "2"}))
                price = prices[symbol]
                for side, factor in (("sell", "0.995"), ("buy", "1.005")):
                    stop = (price * Decimal(factor) - Decimal(n) * price / 2000).quantize(Decimal("0.01")) \
                        if side == "sell" else (price * Decimal(factor) + Decimal(n) * price / 2000).quantize(Decimal("0.01"))
                    placed, _ = order_place(user_id=player.pk, spec=parse_order(
                        {"symbol": symbol, "side": side, "type": "stop", "quantity": "1", "stop_price": str(stop),
                         "time_in_force": "gtc"}))
                    stops.append(placed.pk)
        _wait(lambda: Fill.objects.filter(order_id__in=stops).exists(), 60, "a stop to fill", worker)

        worker.kill()  # 1: while stops rest
        # Orders the market crossed while nobody watched: buy limits far above the price, written
        # as resting (the index never heard of them); the restarted worker must find them.
        burst = Order.objects.bulk_create([
            Order(user=players[i % len(players)], symbol=SYMBOLS[i % 6], side="buy", type="limit", quantity=Decimal("1"),
                  limit_price=(prices[SYMBOLS[i % 6]] * Decimal("1.6")).quantize(Decimal("0.01")), time_in_force="gtc",
                  status="open") for i in range(BURST)])
        burst_ids = [o.pk for o in burst]
        worker = _worker(port)
        _wait(lambda: Fill.objects.filter(order_id__in=burst_ids).count() >= 15, 90, "the burst to start filling",
              worker)
        worker.kill()  # 2: in the middle of the burst
        filled_at_kill = Fill.objects.filter(order_id__in=burst_ids).count()
        assert filled_at_kill < BURST, "the burst finished before the kill: make it bigger"
        worker = _worker(port)
        _wait(lambda: Fill.objects.filter(order_id__in=burst_ids).count() == BURST, 120, "every burst order to fill",
              worker)
        time.sleep(1.0)  # anything still in flight lands now, or never
        worker.stop()
    finally:
        if worker is not None:
            worker.stop()
        simulator.stop()

    everything = stops + burst_ids
    assert Order.objects.filter(pk__in=everything).count() == len(everything)  # no order lost
    # None filled twice: one fill per order (the one-to-one key), one set of ledger entries each.
    assert not Fill.objects.values("order_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert set(Fill.objects.filter(order_id__in=burst_ids).values_list("order_id", flat=True)) == set(burst_ids)
    assert Order.objects.filter(pk__in=burst_ids).exclude(status="filled").count() == 0
    keys = LedgerEntry.objects.filter(kind__in=["trade_buy", "trade_sell"]).values_list("idempotency_key", flat=True)
    filled_orders = set(Fill.objects.values_list("order_id", flat=True))
    assert sorted(int(k.split(":")[1]) for k in keys) == sorted(filled_orders)
    # A kill can fall between a commit and the index write after it: the index rebuild every start
    # runs puts every resting order back where its state says, and drops the strays.
    counts = index.index_rebuild(client, maintenance_pct=settings.TRADE_SHORT_MAINTENANCE_PCT)
    assert counts["added"] == Order.objects.filter(status__in=Order.RESTING).count() + \
        Position.objects.filter(quantity__lt=0).count()
    assert index.index_rebuild(client, maintenance_pct=settings.TRADE_SHORT_MAINTENANCE_PCT)["removed"] == 0
    for o in Order.objects.filter(pk__in=stops, status__in=Order.RESTING):
        entry = index.entry_of(order_id=o.pk, side=o.side, order_type=o.type, status=o.status, limit=o.limit_price,
                               stop=o.stop_price)
        name = index.key(o.symbol, entry.kind)
        found = (client.sismember(name, entry.member) if entry.score is None else
                 client.zscore(name, entry.member) is not None)
        assert found, (o, entry)
    # Positions are the sum of their fills; balances equal their ledgers.
    for player in players:
        for symbol in SYMBOLS:
            fills = Fill.objects.filter(user=player, symbol=symbol)
            bought = fills.filter(side__in=["buy", "buy_to_cover"]).aggregate(s=Sum("quantity"))["s"] or 0
            sold = fills.filter(side__in=["sell", "sell_short"]).aggregate(s=Sum("quantity"))["s"] or 0
            assert Position.objects.get(user=player, symbol=symbol).quantity == bought - sold
    assert_ledger_balanced(*players)
    assert Fill.objects.filter(order_id__in=stops).exists()
