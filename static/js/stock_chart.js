/* The stock page: candlestick/line chart from the candles API with SMA/EMA/Bollinger overlays and an
   RSI pane (lightweight-charts), and a live ticker over /ws/quotes/ that also moves the last bar. */
(function () {
  "use strict";
  var el = document.getElementById("chart");
  if (!el || !window.LightweightCharts) return;
  var LC = window.LightweightCharts;
  var symbol = el.dataset.symbol;
  var statusEl = document.querySelector("[data-chart-status]");
  var rsiEl = document.getElementById("chart-rsi");
  var state = { interval: "15m", type: "candles", indicators: { sma: true, ema: false, bbands: false, rsi: false } };
  // How far back each timeframe looks (seconds): enough bars to read, few enough to load fast.
  var LOOKBACK = { "1m": 6 * 3600, "5m": 2 * 86400, "15m": 6 * 86400, "1h": 30 * 86400,
                   "1d": 400 * 86400, "1w": 5 * 365 * 86400, "1M": 15 * 365 * 86400 };
  var COLORS = { up: "#34d399", down: "#fb7185", sma: "#fbbf24", ema: "#a78bfa", bb: "#38bdf8", rsi: "#f0abfc" };
  var theme = {
    layout: { background: { type: "solid", color: "#121b2e" }, textColor: "#9fb0c9", fontSize: 12 },
    grid: { vertLines: { color: "#1c2842" }, horzLines: { color: "#1c2842" } },
    rightPriceScale: { borderColor: "#26365a" },
    timeScale: { borderColor: "#26365a", timeVisible: true, secondsVisible: false },
    crosshair: { mode: 1 }, autoSize: true,
  };
  var chart = LC.createChart(el, theme);
  var rsiChart = null, main = null, overlays = [], rsiSeries = null, lastBar = null;

  function setStatus(text) { if (statusEl) statusEl.textContent = text; }
  function num(v) { return v == null ? null : Number(v); }
  function toTime(v) { return typeof v === "number" ? v : Math.floor(Date.parse(v) / 1000); }

  function candlesOf(payload) {
    var rows = Array.isArray(payload) ? payload : payload.candles || payload.results || payload.data || [];
    return rows.map(function (c) {
      return { time: toTime(c.start || c.time || c.t), open: num(c.open != null ? c.open : c.o),
               high: num(c.high != null ? c.high : c.h), low: num(c.low != null ? c.low : c.l),
               close: num(c.close != null ? c.close : c.c), volume: num(c.volume != null ? c.volume : c.v) };
    }).filter(function (c) { return c.time && c.close != null; }).sort(function (a, b) { return a.time - b.time; });
  }

  // Indicator values may come as their own arrays or as fields on each candle; accept both.
  function indicatorSeries(payload, candles, names) {
    var source = (payload && payload.indicators) || {};
    for (var i = 0; i < names.length; i++) {
      var found = source[names[i]];
      if (found) {
        if (Array.isArray(found)) {
          return found.map(function (p, idx) {
            if (p == null) return null;
            if (typeof p === "number") return { time: candles[idx] && candles[idx].time, value: p };
            return { time: toTime(p.start || p.time || p.t), value: num(p.value != null ? p.value : p.v), raw: p };
          }).filter(function (p) { return p && p.time && p.value != null && !isNaN(p.value); });
        }
        return found;
      }
    }
    return null;
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
    s.setData(data.map(function (p) { return { time: p.time, value: p.value }; }));
    overlays.push(s);
  }

  function bands(payload, candles) {
    var b = (payload.indicators || {})["bbands"] || (payload.indicators || {})["bbands:20"];
    if (!b) return;
    var rows = Array.isArray(b) ? b : null;
    var pick = function (key) {
      if (rows) {
        return rows.map(function (p, idx) {
          if (!p) return null;
          return { time: toTime(p.start || p.time || p.t || (candles[idx] && candles[idx].time)), value: num(p[key]) };
        }).filter(function (p) { return p && p.time && p.value != null && !isNaN(p.value); });
      }
      var arr = b[key] || [];
      return arr.map(function (v, idx) { return v == null ? null : { time: candles[idx].time, value: Number(v) }; })
        .filter(Boolean);
    };
    addLine(pick("upper"), COLORS.bb, 1);
    addLine(pick("middle"), "rgba(56,189,248,.5)", 1);
    addLine(pick("lower"), COLORS.bb, 1);
  }

  function drawRsi(payload, candles) {
    var data = state.indicators.rsi ? indicatorSeries(payload, candles, ["rsi:14", "rsi"]) : null;
    rsiEl.hidden = !data;
    if (!data) { if (rsiChart) { rsiChart.remove(); rsiChart = null; rsiSeries = null; } return; }
    if (!rsiChart) {
      rsiChart = LC.createChart(rsiEl, theme);
      rsiSeries = rsiChart.addSeries(LC.LineSeries, { color: COLORS.rsi, lineWidth: 2, priceLineVisible: false });
    }
    rsiSeries.setData(data.map(function (p) { return { time: p.time, value: p.value }; }));
    rsiChart.timeScale().fitContent();
  }

  function draw(payload) {
    var candles = candlesOf(payload);
    clearOverlays();
    if (!candles.length) {
      setStatus("No candles for " + symbol + " at " + state.interval + " yet — they build up as trades arrive.");
      lastBar = null;
      drawRsi({}, []);
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
    if (state.indicators.sma) addLine(indicatorSeries(payload, candles, ["sma:20", "sma"]), COLORS.sma);
    if (state.indicators.ema) addLine(indicatorSeries(payload, candles, ["ema:50", "ema"]), COLORS.ema);
    if (state.indicators.bbands) bands(payload, candles);
    drawRsi(payload, candles);
    chart.timeScale().fitContent();
    setStatus(candles.length + " " + state.interval + " candles" + (state.type === "line" ? " (closing prices)" : "") + ".");
  }

  var pending = null;
  function load() {
    var wanted = [];
    if (state.indicators.sma) wanted.push("sma:20");
    if (state.indicators.ema) wanted.push("ema:50");
    if (state.indicators.bbands) wanted.push("bbands");
    if (state.indicators.rsi) wanted.push("rsi:14");
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
    // Keep the newest bar moving between candle reloads.
    if (main && lastBar) {
      lastBar.close = price; lastBar.high = Math.max(lastBar.high, price); lastBar.low = Math.min(lastBar.low, price);
      main.update(state.type === "candles" ? { time: lastBar.time, open: lastBar.open, high: lastBar.high, low: lastBar.low, close: price }
                                           : { time: lastBar.time, value: price });
    }
  }

  var delay = 1000;
  function connect() {
    if (!quoteBox || !("WebSocket" in window)) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws/quotes/");
    ws.onopen = function () { delay = 1000; ws.send(JSON.stringify({ action: "subscribe", symbols: [symbol] })); };
    ws.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (Array.isArray(msg.quotes)) { msg.quotes.forEach(onQuote); return; }
      if (msg.quotes && typeof msg.quotes === "object") { onQuote(msg.quotes[symbol]); return; }
      onQuote(msg.data && msg.data.price != null ? msg.data : msg.quote || msg);
    };
    ws.onclose = function () { setTimeout(connect, delay); delay = Math.min(delay * 2, 30000); };
  }
  connect();
})();
