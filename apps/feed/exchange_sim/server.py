"""The simulator's network side on one port: Alpaca's stream at /v2/sim (any path upgrades)
and Alpaca's REST paths for assets, trades and bars, served from the engine's history."""
from __future__ import annotations

import asyncio
import base64
import logging
import math
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from http import HTTPStatus

import orjson
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from apps.feed.exchange_sim.universe import Listing
from apps.feed.exchange_sim.wire import TIMEFRAME_SECONDS, rest_bars, rest_trade, stream_messages
from apps.providers.timefmt import parse_rfc3339

log = logging.getLogger("stockrace.exchange-sim")
MAX_SPAN_SECONDS = 6 * 3600
DEFAULT_LIMIT, MAX_LIMIT = 1000, 10_000
EMPTY_CHANNELS = {"bars": [], "updatedBars": [], "dailyBars": [], "statuses": [], "lulds": [],
                  "corrections": [], "cancelErrors": []}


class RestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(eq=False)
class Client:
    authenticated: bool = False
    trades: set[int] = field(default_factory=set)
    quotes: set[int] = field(default_factory=set)
    all_trades: bool = False
    all_quotes: bool = False

    def key(self) -> tuple:
        return (None if self.all_trades else frozenset(self.trades), None if self.all_quotes else frozenset(self.quotes))


def json_response(status: int, body) -> Response:
    payload = orjson.dumps(body)
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
                       ("Connection", "close")])
    return Response(status, HTTPStatus(status).phrase, headers, payload)


def parse_time(value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), timezone.utc).timestamp()
        return parse_rfc3339(value)
    except ValueError:
        raise RestError(422, f"invalid time {value!r}") from None


class ExchangeServer:
    def __init__(self, engine, listings: list[Listing], *, mode: str):
        self.engine = engine
        self.listings = listings
        self.symbols = [listing.symbol for listing in listings]
        self.index = {symbol: i for i, symbol in enumerate(self.symbols)}
        self.mode = mode
        self.clients: dict[ServerConnection, Client] = {}
        self.frames_sent = 0
        # The last range regenerated: the pages of one backfill request reuse it.
        self._history_cache: tuple[tuple, list] | None = None

    # ------------------------------------------------------------------ stream
    async def pump(self, stopped: asyncio.Event) -> None:
        """Step the engine as time passes and push every new event to subscribers."""
        while not stopped.is_set():
            events = self.engine.advance_to(time.time())
            if events and self.clients:
                self.broadcast(events)
            delay = self.engine.next_step_time() - time.time()
            try:
                await asyncio.wait_for(stopped.wait(), timeout=min(max(delay, 0.001), 0.25))
            except TimeoutError:
                pass

    def broadcast(self, events) -> None:
        groups: dict[tuple, list[ServerConnection]] = {}
        for conn, client in self.clients.items():
            if client.authenticated and (client.all_trades or client.all_quotes or client.trades or client.quotes):
                groups.setdefault(client.key(), []).append(conn)
        for (trades, quotes), conns in groups.items():
            messages = stream_messages(events, self.symbols, None if trades is None else set(trades),
                                       None if quotes is None else set(quotes))
            if messages:
                broadcast(conns, orjson.dumps(messages), text=True)
                self.frames_sent += len(conns)

    async def handle(self, conn: ServerConnection) -> None:
        client = Client()
        self.clients[conn] = client
        peer = conn.remote_address
        log.info("stream client connected: %s", peer)
        try:
            await conn.send('[{"T":"success","msg":"connected"}]')
            async for raw in conn:
                await conn.send(orjson.dumps(self.on_client_message(client, raw)).decode())
        except Exception as exc:  # a client's trouble never stops the exchange
            log.info("stream client %s dropped: %s", peer, exc)
        finally:
            self.clients.pop(conn, None)
            log.info("stream client disconnected: %s", peer)

    def on_client_message(self, client: Client, raw) -> list[dict]:
        try:
            message = orjson.loads(raw)
            action = message["action"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return [{"T": "error", "code": 400, "msg": "invalid syntax"}]
        if action == "auth":
            if not message.get("key") or not message.get("secret"):
                return [{"T": "error", "code": 402, "msg": "auth failed"}]
            client.authenticated = True
            return [{"T": "success", "msg": "authenticated"}]
        if not client.authenticated:
            return [{"T": "error", "code": 401, "msg": "not authenticated"}]
        if action not in ("subscribe", "unsubscribe"):
            return [{"T": "error", "code": 400, "msg": "invalid syntax"}]
        for channel in ("trades", "quotes"):
            wanted = message.get(channel) or []
            if not isinstance(wanted, list):
                return [{"T": "error", "code": 400, "msg": "invalid syntax"}]
            every = "*" in wanted
            indices = {self.index[s] for s in wanted if isinstance(s, str) and s in self.index}
            current = client.trades if channel == "trades" else client.quotes
            if action == "subscribe":
                current |= indices
                if every:
                    setattr(client, f"all_{channel}", True)
            else:
                current -= indices
                if every:
                    setattr(client, f"all_{channel}", False)
        return [{"T": "subscription",
                 "trades": ["*"] if client.all_trades else sorted(self.symbols[i] for i in client.trades),
                 "quotes": ["*"] if client.all_quotes else sorted(self.symbols[i] for i in client.quotes),
                 **EMPTY_CHANNELS}]

    # ------------------------------------------------------------------ REST
    async def process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        try:
            return json_response(200, await self.rest(request.path))
        except RestError as exc:
            return json_response(exc.status, {"code": exc.status * 100_000, "message": str(exc)})
        except Exception:  # a bug in one request must not take the simulator down
            log.exception("REST request failed: %s", request.path)
            return json_response(500, {"code": 50000000, "message": "internal error"})

    def asset(self, listing: Listing) -> dict:
        # Alpaca's asset fields, plus sector/industry/market_cap: a simulator extension.
        return {"id": f"sim-{listing.symbol}", "class": "us_equity", "exchange": listing.exchange,
                "symbol": listing.symbol, "name": listing.name, "status": "active", "tradable": True,
                "marginable": True, "shortable": True, "easy_to_borrow": True, "fractionable": True,
                "attributes": [], "sector": listing.sector, "industry": listing.industry,
                "market_cap": listing.market_cap}

    async def rest(self, target: str):
        parts = urllib.parse.urlsplit(target)
        path = parts.path.rstrip("/")
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query).items()}
        segments = path.split("/")
        if path in ("", "/healthz"):
            return {"name": "StockRace exchange simulator", "mode": self.mode, "symbols": len(self.symbols),
                    "clients": len(self.clients), "format": "alpaca-v2"}
        if path == "/v2/assets":
            return [self.asset(listing) for listing in self.listings]
        if len(segments) == 4 and path.startswith("/v2/assets/"):
            if segments[3] not in self.index:
                raise RestError(404, "asset not found")
            return self.asset(self.listings[self.index[segments[3]]])
        if path in ("/v2/stocks/trades", "/v2/stocks/bars"):
            symbols = [s for s in query.get("symbols", "").split(",") if s]
            return await self.history(path.rsplit("/", 1)[1], symbols, query, single=False)
        if len(segments) == 5 and segments[:3] == ["", "v2", "stocks"] and segments[4] in ("trades", "bars"):
            return await self.history(segments[4], [segments[3]], query, single=True)
        raise RestError(404, "not found")

    async def _events(self, indices: set[int], start: float, end: float) -> list:
        key = (frozenset(indices), start, end)
        if self._history_cache is not None and self._history_cache[0] == key:
            return self._history_cache[1]
        events = await asyncio.to_thread(self.engine.history, indices, start, end)
        self._history_cache = (key, events)
        return events

    async def history(self, kind: str, symbols: list[str], query: dict, *, single: bool):
        if not symbols:
            raise RestError(422, "symbols is required")
        indices = {self.index[s] for s in symbols if s in self.index}
        now = time.time()
        start = parse_time(query.get("start"), math.floor(now / 86400) * 86400)
        end = parse_time(query.get("end"), now)
        if end <= start:
            raise RestError(422, "end should be after start")
        if end - start > MAX_SPAN_SECONDS:
            raise RestError(422, f"the simulator serves at most {MAX_SPAN_SECONDS // 3600} hours per request")
        try:
            limit = min(MAX_LIMIT, max(1, int(query.get("limit") or DEFAULT_LIMIT)))
            offset = int(base64.urlsafe_b64decode(query["page_token"]).decode()) if query.get("page_token") else 0
        except (ValueError, UnicodeDecodeError):
            raise RestError(422, "invalid limit or page_token") from None
        events = await self._events(indices, start, end) if indices else []
        if kind == "trades":
            rows = sorted(((self.symbols[e[1]], e[0], rest_trade(e)) for e in events), key=lambda r: (r[0], r[1]))
            flat = [(symbol, row) for symbol, _ts, row in rows]
        else:
            seconds = TIMEFRAME_SECONDS.get(query.get("timeframe", "1Min"))
            if seconds is None:
                raise RestError(422, "invalid timeframe (the simulator serves 1Min to 1Hour)")
            by_index = rest_bars(sorted(events), seconds)
            flat = [(self.symbols[i], row) for i in sorted(by_index, key=lambda i: self.symbols[i])
                    for row in by_index[i]]
        page = flat[offset:offset + limit]
        token = (base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
                 if offset + limit < len(flat) else None)
        if single:
            return {kind: [row for _s, row in page], "symbol": symbols[0], "next_page_token": token}
        grouped: dict[str, list] = {}
        for symbol, row in page:
            grouped.setdefault(symbol, []).append(row)
        return {kind: grouped, "next_page_token": token}


async def run_server(engine, listings: list[Listing], *, host: str, port: int, mode: str,
                     should_stop, ready=None) -> None:
    """Serve until ``should_stop()`` is true (polled: the stop comes from a signal handler)."""
    server = ExchangeServer(engine, listings, mode=mode)
    stopped = asyncio.Event()
    async with serve(server.handle, host, port, process_request=server.process_request,
                     ping_interval=20, ping_timeout=20, max_queue=64, close_timeout=2):
        log.info("exchange simulator (%s, Alpaca v2 format) on ws://%s:%d/v2/sim and http://%s:%d/v2/...",
                 mode, host, port, host, port)
        if ready is not None:
            ready()
        pump = asyncio.create_task(server.pump(stopped))
        while not should_stop():
            await asyncio.sleep(0.2)
        stopped.set()
        await pump
