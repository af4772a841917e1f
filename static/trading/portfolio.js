/* The portfolio page's live P&L: keeps the presence alive (POST /api/v1/portfolio/watch/ every
   15 s; the server pushes only while it is renewed) and applies the {"type": "portfolio"} events
   of /ws/me/ to the table. Without a socket the page still refreshes itself every 30 s (htmx).
   Also draws the equity at each session's close. */
(function () {
  "use strict";
  var statusEl = document.getElementById("live-status");
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function watch() {
    fetch("/api/v1/portfolio/watch/", { method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "Accept": "application/json" } }).catch(function () {});
  }
  watch();
  setInterval(watch, 15000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) watch(); });

  function fmt(v, signed) {
    if (v === null || v === undefined) return "—";
    var n = Number(v);
    var s = n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return signed && n > 0 ? "+" + s : s;
  }
  function pct(v) { return v === null || v === undefined ? "—" : (v > 0 ? "+" : "") + Number(v).toFixed(2) + "%"; }
  function tone(el, v) {
    el.classList.remove("up", "down", "flat");
    el.classList.add(Number(v) > 0 ? "up" : Number(v) < 0 ? "down" : "flat");
  }
  function set(el, text, v) {
    if (!el || el.textContent === text) return;
    var before = parseFloat(el.textContent.replace(/[^0-9.+-]/g, ""));
    el.textContent = text;
    if (v !== undefined) tone(el, v);
    el.classList.remove("flash-up", "flash-down");
    void el.offsetWidth;
    el.classList.add(Number(v !== undefined ? v : 0) >= (isNaN(before) ? 0 : before) ? "flash-up" : "flash-down");
  }
  function apply(p) {
    var totals = { equity: [p.equity], cash: [p.cash], unrealized_pnl: [p.unrealized_pnl, true],
                   realized_pnl: [p.realized_pnl, true], day_change: [p.day_change, true],
                   total_return: [p.total_return, true] };
    Object.keys(totals).forEach(function (k) {
      var el = document.querySelector('[data-total="' + k + '"]');
      var t = totals[k];
      set(el, k === "cash" ? String(t[0]) : fmt(t[0], t[1]), t[1] ? t[0] : undefined);
    });
    var pctEl = document.querySelector('[data-total="total_return_pct"]');
    if (pctEl) pctEl.textContent = pct(p.total_return_pct);
    var known = {};
    (p.positions || []).forEach(function (x) {
      var row = document.querySelector('tr[data-symbol="' + x.symbol + '"]');
      known[x.symbol] = true;
      if (!row) { document.body.dispatchEvent(new CustomEvent("portfolioChanged")); return; }
      set(row.querySelector('[data-field="price"]'), x.price === null ? "—" : Number(x.price).toFixed(2));
      set(row.querySelector('[data-field="market_value"]'), fmt(x.market_value));
      set(row.querySelector('[data-field="unrealized_pnl"]'), fmt(x.unrealized_pnl, true) + " " + pct(x.unrealized_pct), x.unrealized_pnl);
      set(row.querySelector('[data-field="day_change"]'), fmt(x.day_change, true), x.day_change);
      set(row.querySelector('[data-field="quantity"]'), x.quantity);
    });
  }

  var delay = 1000;
  function connect() {
    if (!("WebSocket" in window)) return;
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/me/");
    ws.onopen = function () { delay = 1000; if (statusEl) statusEl.textContent = "· live"; };
    ws.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "ping") { ws.send('{"type":"pong"}'); return; }
      if (msg.type === "portfolio" && msg.portfolio) apply(msg.portfolio);
      if (msg.type === "alert" && msg.order) document.body.dispatchEvent(new CustomEvent("portfolioChanged"));
    };
    ws.onclose = function () {
      if (statusEl) statusEl.textContent = "· reconnecting…";
      setTimeout(connect, delay); delay = Math.min(delay * 2, 30000);
    };
  }
  connect();

  var data = document.getElementById("equity-history");
  var box = document.getElementById("equity-chart");
  function draw() {
    if (!data || !box || !window.LightweightCharts) return;
    var chart = LightweightCharts.createChart(box, { height: 260, layout: { background: { color: "transparent" }, textColor: "#94a3b8" },
      grid: { vertLines: { color: "#1e293b" }, horzLines: { color: "#1e293b" } } });
    var series = chart.addLineSeries ? chart.addLineSeries({ color: "#38bdf8" }) : chart.addSeries(LightweightCharts.LineSeries, { color: "#38bdf8" });
    series.setData(JSON.parse(data.textContent));
    chart.timeScale().fitContent();
  }
  if (document.readyState === "complete") draw(); else window.addEventListener("load", draw);
})();
