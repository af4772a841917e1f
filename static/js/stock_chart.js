/* The stock page: candlestick/line chart from the candles API with SMA/EMA/Bollinger overlays and an
   RSI pane (lightweight-charts), and a live ticker over /ws/quotes/ (or its HTTP fallback) that also moves the last bar. */
(function () {
  "use strict";
  var el = document.getElementById("chart");
  if (!el || !window.LightweightCharts) return;
  var LC = window.LightweightCharts;
  var symbol = el.dataset.symbol;
  var statusEl = document.querySelector("[data-chart-status]");
  var rsiEl = document.getElementById("chart-rsi");
  var hintsEl = document.querySelector("[data-chart-hints]");
  var state = { interval: el.dataset.interval || "15m", type: "candles", indicators: { sma: true, ema: false, bbands: false, rsi: false } };
  // How far back each timeframe looks (seconds), from the page (apps/web/selectors/stocks.py, which
  // also picks the timeframe the chart opens on): intraday ones enough bars to read, the daily and
  // longer ones the whole history (a few thousand bars at most; the API allows 20,000 buckets).
  var YEARS_50 = 50 * 365 * 86400;
  var BUCKET_SECONDS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400, "1w": 7 * 86400, "1M": 31 * 86400 };
  var LOOKBACK = { "1m": 6 * 3600, "5m": 2 * 86400, "15m": 6 * 86400, "1h": 30 * 86400,
                   "1d": YEARS_50, "1w": YEARS_50, "1M": YEARS_50 };
  try { LOOKBACK = JSON.parse(el.dataset.lookback) || LOOKBACK; } catch (e) { /* the defaults above */ }
  // Daily and longer candles are labelled by their session's date, not the 14:30 UTC of its open.
  var DAILY = { "1d": 1, "1w": 1, "1M": 1 };
  // Indicator requests, in the canonical form the API keys its values by, with their names and
  // the candles each needs before its first value.
  var KEYS = { sma: "sma:20", ema: "ema:50", bbands: "bbands:20:2", rsi: "rsi:14" };
  var NAMES = { sma: "SMA 20", ema: "EMA 50", bbands: "Bollinger 20", rsi: "RSI 14" };
  var NEEDS = { sma: 20, ema: 50, bbands: 20, rsi: 15 };
  var COLORS = { up: "#34d399", down: "#fb7185", sma: "#fbbf24", ema: "#a78bfa", bb: "#38bdf8", rsi: "#f0abfc" };
  var theme = {
    layout: { background: { type: "solid", color: "#121b2e" }, textColor: "#9fb0c9", fontSize: 12 },
    grid: { vertLines: { color: "#1c2842" }, horzLines: { color: "#1c2842" } },
    rightPriceScale: { borderColor: "#26365a" },
    timeScale: { borderColor: "#26365a", timeVisible: true, secondsVisible: false },
    crosshair: { mode: 1 }, autoSize: true,
  };
  var chart = LC.createChart(el, theme);
  el.stockChart = chart;  // for the browser tests and the console
  var rsiChart = null, main = null, overlays = [], rsiSeries = null, lastBar = null;

  function setStatus(text) { if (statusEl) statusEl.textContent = text; }
  function setHints(lines) {
    if (!hintsEl) return;
    hintsEl.textContent = lines.join(" ");
    hintsEl.hidden = !lines.length;
  }
  function num(v) { return v == null ? null : Number(v); }
  function toTime(v) { return typeof v === "number" ? v : Math.floor(Date.parse(v) / 1000); }
  // The chart's time of a candle: epoch seconds intraday, a "YYYY-MM-DD" business day for daily+.
  function chartTime(seconds) {
    return DAILY[state.interval] ? new Date(seconds * 1000).toISOString().slice(0, 10) : seconds;
  }
  function applyTimeScale() {
    var intraday = !DAILY[state.interval];
    chart.applyOptions({ timeScale: { timeVisible: intraday, secondsVisible: false } });
  }

  // The candles API: {"candles": [{start, open, high, low, close, volume, indicators: {"sma:20": v, ...}}]}.
  function candlesOf(payload) {
    var rows = Array.isArray(payload) ? payload : payload.candles || [];
    return rows.map(function (c) {
      return { seconds: toTime(c.start || c.time), open: num(c.open), high: num(c.high), low: num(c.low),
               close: num(c.close), ind: c.indicators || {} };
    }).filter(function (c) { return c.seconds && c.close != null; })
      .sort(function (a, b) { return a.seconds - b.seconds; })
      .map(function (c) { c.time = chartTime(c.seconds); return c; });
  }

  // One line of an indicator: its value per candle (a field of it for bands), gaps left out.
  function indicatorLine(candles, key, field) {
    return candles.map(function (c) {
      var v = c.ind[key];
      if (v != null && field) v = v[field];
      return v == null || isNaN(v) ? null : { time: c.time, value: Number(v) };
    }).filter(Boolean);
  }

  function clearOverlays() {
    overlays.forEach(function (s) { chart.removeSeries(s); });
    overlays = [];
    if (main) { chart.removeSeries(main); main = null; }
  }

  function addLine(data, color, width) {
    if (!data || !data.length) return;
    var s = chart.addSeries(LC.LineSeries, { color: color, lineWidth: width || 2, priceLineVisible: false,
                                             lastValueVisible: false, crosshairMarkerVisible: false });
    s.setData(data);
    overlays.push(s);
  }

  function drawRsi(candles) {
    var data = state.indicators.rsi ? indicatorLine(candles, KEYS.rsi) : null;
    if (data && !data.length) data = null;
    rsiEl.hidden = !data;
    rsiEl.setAttribute("aria-hidden", String(!data));
    if (!data) { if (rsiChart) { rsiChart.remove(); rsiChart = null; rsiSeries = null; } return; }
    if (!rsiChart) {
      // Created once the pane is visible, so it measures its real size.
      rsiChart = LC.createChart(rsiEl, Object.assign({}, theme, { timeScale: Object.assign({}, theme.timeScale) }));
      rsiSeries = rsiChart.addSeries(LC.LineSeries, { color: COLORS.rsi, lineWidth: 2, priceLineVisible: false });
    }
    rsiChart.applyOptions({ timeScale: { timeVisible: !DAILY[state.interval], secondsVisible: false } });
    rsiSeries.setData(data);
    rsiChart.timeScale().fitContent();
  }

  // A ticked indicator that drew nothing says why.
  function indicatorHints(candles) {
    var hints = [];
    Object.keys(KEYS).forEach(function (name) {
      if (!state.indicators[name]) return;
      var drawn = indicatorLine(candles, KEYS[name], name === "bbands" ? "middle" : null).length;
      if (!drawn) {
        hints.push("Not enough data for " + NAMES[name] + ": it needs " + NEEDS[name] + " " + state.interval +
                   " candles, this chart has " + candles.length + ".");
      }
    });
    setHints(hints);
  }

  function draw(payload) {
    var candles = candlesOf(payload);
    clearOverlays();
    applyTimeScale();
    if (!candles.length) {
      setStatus("No candles for " + symbol + " at " + state.interval + " yet — they build up as trades arrive.");
      lastBar = null;
      drawRsi([]);
      indicatorHints([]);
      return;
    }
    if (state.type === "candles") {
      main = chart.addSeries(LC.CandlestickSeries, { upColor: COLORS.up, downColor: COLORS.down, borderVisible: false,
                                                    wickUpColor: COLORS.up, wickDownColor: COLORS.down });
      main.setData(candles.map(function (c) { return { time: c.time, open: c.open, high: c.high, low: c.low, close: c.close }; }));
    } else {
      main = chart.addSeries(LC.AreaSeries, { lineColor: "#38bdf8", topColor: "rgba(56,189,248,.35)",
                                              bottomColor: "rgba(56,189,248,0)", lineWidth: 2 });
      main.setData(candles.map(function (c) { return { time: c.time, value: c.close }; }));
    }
    lastBar = candles[candles.length - 1];
    if (state.indicators.sma) addLine(indicatorLine(candles, KEYS.sma), COLORS.sma);
    if (state.indicators.ema) addLine(indicatorLine(candles, KEYS.ema), COLORS.ema);
    if (state.indicators.bbands) {
      addLine(indicatorLine(candles, KEYS.bbands, "upper"), COLORS.bb, 1);
      addLine(indicatorLine(candles, KEYS.bbands, "middle"), "rgba(56,189,248,.5)", 1);
      addLine(indicatorLine(candles, KEYS.bbands, "lower"), COLORS.bb, 1);
    }
    drawRsi(candles);
    indicatorHints(candles);
    chart.timeScale().fitContent();
    setStatus(candles.length + " " + state.interval + " candles" + (state.type === "line" ? " (closing prices)" : "") + ".");
  }

  var pending = null;
  function load() {
    var wanted = Object.keys(KEYS).filter(function (name) { return state.indicators[name]; })
      .map(function (name) { return KEYS[name]; });
    var end = Math.floor(Date.now() / 1000) + 60;
    var params = new URLSearchParams({ interval: state.interval,
      start: new Date((end - LOOKBACK[state.interval]) * 1000).toISOString(), end: new Date(end * 1000).toISOString() });
    if (wanted.length) params.set("indicators", wanted.join(","));
    if (pending) pending.abort();
    pending = new AbortController();
    setStatus("Loading " + state.interval + " candles…");
    fetch(el.dataset.candlesUrl + "?" + params.toString(), { headers: { Accept: "application/json" }, signal: pending.signal })
      .then(function (r) {
        if (!r.ok) return r.json().catch(function () { return {}; }).then(function (body) {
          throw new Error((body.error && body.error.message) || ("HTTP " + r.status));
        });
        return r.json();
      })
      .then(draw)
      .catch(function (err) { if (err.name !== "AbortError") { clearOverlays(); setStatus("Chart unavailable: " + err.message); } });
  }

  document.querySelectorAll("[data-interval]").forEach(function (b) {
    b.addEventListener("click", function () {
      state.interval = b.dataset.interval;
      document.querySelectorAll("[data-interval]").forEach(function (o) { o.setAttribute("aria-pressed", String(o === b)); });
      load();
    });
  });
  document.querySelectorAll("[data-type]").forEach(function (b) {
    b.addEventListener("click", function () {
      state.type = b.dataset.type;
      document.querySelectorAll("[data-type]").forEach(function (o) { o.setAttribute("aria-pressed", String(o === b)); });
      load();
    });
  });
  document.querySelectorAll("[data-indicator]").forEach(function (box) {
    state.indicators[box.dataset.indicator] = box.checked;
    box.addEventListener("change", function () { state.indicators[box.dataset.indicator] = box.checked; load(); });
  });
  load();

  // ---- live ticker
  var quoteBox = document.getElementById("live-quote");
  var priceEl = quoteBox && quoteBox.querySelector("[data-quote-price]");
  var changeEl = quoteBox && quoteBox.querySelector("[data-quote-change]");
  var metaEl = quoteBox && quoteBox.querySelector("[data-quote-meta]");
  var ref = quoteBox && Number(quoteBox.dataset.ref);
  var lastPrice = null;

  function fmt(v) { return Number(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }); }
  function onQuote(q) {
    if (!q || (q.symbol && q.symbol !== symbol) || q.price == null) return;
    var price = Number(q.price);
    priceEl.textContent = fmt(price);
    if (lastPrice != null && price !== lastPrice) {
      priceEl.classList.remove("tick-up", "tick-down");
      void priceEl.offsetWidth;
      priceEl.classList.add(price > lastPrice ? "tick-up" : "tick-down");
    }
    lastPrice = price;
    if (ref) {
      var pct = (price - ref) / ref * 100;
      changeEl.textContent = (pct > 0 ? "+" : "") + pct.toFixed(2) + "%";
      changeEl.className = "quote-change " + (pct > 0 ? "up" : pct < 0 ? "down" : "flat");
    }
    if (q.bid != null && q.ask != null && metaEl) metaEl.textContent = "bid " + fmt(q.bid) + " · ask " + fmt(q.ask);
    // Keep the newest bar moving between candle reloads, when it is the bar of the current bucket
    // (a history that ended long ago is left as it was).
    if (main && lastBar && Date.now() / 1000 - lastBar.seconds < 2 * BUCKET_SECONDS[state.interval]) {
      lastBar.close = price; lastBar.high = Math.max(lastBar.high, price); lastBar.low = Math.min(lastBar.low, price);
      main.update(state.type === "candles" ? { time: lastBar.time, open: lastBar.open, high: lastBar.high, low: lastBar.low, close: price }
                                           : { time: lastBar.time, value: price });
    }
  }

  // The quotes channel (static/js/live_channel.js): /ws/quotes/ with a subscribe on each open, or
  // its Server-Sent Events (the symbol in the URL) when the socket cannot connect or keeps dropping.
  if (quoteBox && window.LiveChannel) {
    new window.LiveChannel({
      ws: "/ws/quotes/", sse: "/live/quotes/events?symbols=" + encodeURIComponent(symbol),
      onopen: function (send) { send(JSON.stringify({ action: "subscribe", symbols: [symbol] })); },
      onmessage: function (msg) {
        // {"type": "snapshot" | "quotes", "data": [quote, ...]} (apps/feed/consumers.py)
        if ((msg.type === "snapshot" || msg.type === "quotes") && Array.isArray(msg.data)) msg.data.forEach(onQuote);
      },
    });
  }
})();
