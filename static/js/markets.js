/* A market page: the probability chart (lightweight-charts) fed live over /ws/markets/{id}/, the
   trade ticket whose preview is the server's own quote (POST .../quote/ runs the function the trade
   executes: this file computes no price), trades with an Idempotency-Key, stops, and staff actions. */
(function () {
  "use strict";
  var root = document.getElementById("market");
  if (!root) return;
  var marketId = root.dataset.market;
  var api = "/api/v1/markets/" + marketId + "/";
  var outcomes = JSON.parse(document.getElementById("market-outcomes").textContent);
  var binary = outcomes.length === 2 && outcomes[0] === "YES";
  var lastSeq = Number(root.dataset.seq) || 0;

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }

  function call(method, url, body, extra) {
    var headers = Object.assign({ "Content-Type": "application/json", "X-CSRFToken": csrf() }, extra || {});
    return fetch(url, { method: method, headers: headers, credentials: "same-origin",
                        body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        return r.text().then(function (t) {
          var data = null;
          try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
          return { ok: r.ok, status: r.status, data: data };
        });
      });
  }

  function message(res) {
    return (res.data && res.data.error && res.data.error.message) || ("The server answered " + res.status + ".");
  }

  function pct(p) { return (Number(p) * 100).toFixed(1) + " %"; }

  // ------------------------------------------------------------------ chart
  var chartEl = document.getElementById("market-chart");
  var series = [];
  var lastTime = 0;
  var HUES = [199, 266, 152, 38, 340, 90, 12, 220];
  if (chartEl && window.LightweightCharts) {
    var LC = window.LightweightCharts;
    var chart = LC.createChart(chartEl, {
      layout: { background: { type: "solid", color: "#121b2e" }, textColor: "#9fb0c9", fontSize: 12 },
      grid: { vertLines: { color: "#1c2842" }, horzLines: { color: "#1c2842" } },
      rightPriceScale: { borderColor: "#26365a" }, autoSize: true,
      timeScale: { borderColor: "#26365a", timeVisible: true, secondsVisible: true },
      localization: { priceFormatter: function (v) { return (v * 100).toFixed(1) + "%"; } },
    });
    var shown = binary ? [0] : outcomes.map(function (_, i) { return i; });
    shown.forEach(function (i) {
      series[i] = chart.addSeries(LC.LineSeries, { color: "hsl(" + HUES[i % HUES.length] + " 80% 60%)", lineWidth: 2,
                                                   priceLineVisible: false, title: outcomes[i] });
    });
    var history = JSON.parse(document.getElementById("market-history").textContent);
    var byTime = {};
    history.forEach(function (pt) { byTime[Math.floor(pt.t)] = pt.p; });  // one point per second, the last
    var times = Object.keys(byTime).map(Number).sort(function (a, b) { return a - b; });
    shown.forEach(function (i) {
      series[i].setData(times.map(function (t) { return { time: t, value: byTime[t][i] }; }));
    });
    lastTime = times.length ? times[times.length - 1] : 0;
    chart.timeScale().fitContent();
  }

  function plot(probabilities, atSeconds) {
    var t = Math.max(Math.floor(atSeconds), lastTime);
    lastTime = t;
    series.forEach(function (s, i) { if (s) s.update({ time: t, value: Number(probabilities[i]) }); });
  }

  function showProbabilities(probabilities) {
    probabilities.forEach(function (p, i) {
      var el = document.querySelector('[data-prob="' + i + '"]');
      if (!el) return;
      el.textContent = pct(p);
      el.parentElement.style.setProperty("--pct", (Number(p) * 100).toFixed(1) + "%");
    });
  }

  // ------------------------------------------------------------------ live updates
  var tape = document.querySelector("[data-tape]");
  function addToTape(trades) {
    if (!tape) return;
    var empty = tape.querySelector("[data-tape-empty]");
    if (empty) empty.remove();
    trades.forEach(function (t) {
      var li = document.createElement("li");
      var label = t.outcome == null ? "" : outcomes[t.outcome];
      li.innerHTML = '<span class="muted">#' + t.seq + "</span> ";
      li.appendChild(document.createTextNode(t.kind === "liquidity" ? "liquidity added"
        : t.kind + " " + Number(t.shares).toFixed(2) + " " + label + (t.stop ? " (stop)" : "")));
      tape.insertBefore(li, tape.firstChild);
    });
    while (tape.children.length > 40) tape.removeChild(tape.lastChild);
  }

  function onEvent(event) {
    var live = document.querySelector("[data-live]");
    if (live) live.hidden = false;
    if (event.type === "snapshot" || event.type === "trade") {
      var data = event.type === "snapshot" ? event : event.data;
      if (data.seq !== undefined && data.seq < lastSeq) return;  // older than what the page shows
      lastSeq = data.seq;
      showProbabilities(data.probabilities);
      plot(data.probabilities, event.at || Date.now() / 1000);
      if (event.type === "trade") {
        addToTape(data.trades || []);
        var volume = document.querySelector("[data-market-volume]");
        if (volume && data.volume !== undefined) volume.textContent = Number(data.volume).toLocaleString();
        document.body.dispatchEvent(new CustomEvent("marketsMine"));
        quoteSoon();
      }
    } else if (event.type === "closed" || event.type === "resolved" || event.type === "cancelled") {
      setTimeout(function () { location.reload(); }, 800);
    }
  }

  var socket = null, retry = 1000;
  function connect() {
    if (!("WebSocket" in window)) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/markets/" + marketId + "/");
    socket.onmessage = function (m) {
      try { onEvent(JSON.parse(m.data)); } catch (e) { /* a frame we do not read */ }
    };
    socket.onopen = function () { retry = 1000; };
    socket.onclose = function (e) {
      var live = document.querySelector("[data-live]");
      if (live) live.hidden = true;
      if (e.code === 4404) return;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }
  connect();

  // ------------------------------------------------------------------ the ticket
  var ticket = document.getElementById("ticket");
  var side = "buy", by = "amount", timer = null, pending = 0;
  var preview = ticket && ticket.querySelector("[data-preview]");
  var errorEl = ticket && ticket.querySelector("[data-ticket-error]");

  function order() {
    var size = ticket.querySelector("input[name=size]").value.trim();
    var body = { outcome: Number(ticket.querySelector("select[name=outcome]").value), side: side };
    if (by === "amount" && side === "buy") body.amount = Number(size); else body.shares = size;
    return body;
  }

  function showFill(fill) {
    var o = fill.outcome;
    preview.innerHTML = "";
    var dl = document.createElement("dl");
    var rows = [
      ["Shares", Number(fill.shares).toFixed(4)],
      [fill.side === "buy" ? "Cost" : "Proceeds", fill.cost + " pts"],
      ["Fee", fill.fee + " pts"],
      ["Average price", Number(fill.avg_price).toFixed(4)],
      [outcomes[o] + " probability", pct(fill.prob_before) + " → " + pct(fill.prob_after)],
    ];
    if (fill.collateral) rows.push([fill.collateral > 0 ? "Collateral held" : "Collateral back", Math.abs(fill.collateral) + " pts"]);
    rows.push(["You " + (fill.cash < 0 ? "pay" : "receive"), Math.abs(fill.cash) + " pts"]);
    rows.forEach(function (r) {
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = r[0]; dd.textContent = r[1];
      dl.appendChild(dt); dl.appendChild(dd);
    });
    preview.appendChild(dl);
  }

  function quote() {
    if (!ticket) return;
    var mine = ++pending;
    call("POST", api + "quote/", order()).then(function (res) {
      if (mine !== pending) return;  // a newer quote is on its way
      if (res.ok) { showFill(res.data); errorEl.hidden = true; }
      else { preview.innerHTML = ""; preview.textContent = message(res); }
    });
  }
  function quoteSoon() { if (!ticket) return; clearTimeout(timer); timer = setTimeout(quote, 250); }

  if (ticket) {
    ticket.addEventListener("click", function (e) {
      var b = e.target.closest("[data-side],[data-by]");
      if (!b) return;
      if (b.dataset.side) side = b.dataset.side;
      if (b.dataset.by) by = b.dataset.by;
      ticket.querySelectorAll("[data-side]").forEach(function (x) { x.setAttribute("aria-pressed", String(x.dataset.side === side)); });
      ticket.querySelectorAll("[data-by]").forEach(function (x) { x.setAttribute("aria-pressed", String(x.dataset.by === by)); });
      var sharesOnly = side === "sell";
      ticket.querySelector("[data-by=amount]").disabled = sharesOnly;
      ticket.querySelector("[data-size-label]").textContent =
        by === "amount" && !sharesOnly ? "Points to spend (fee included)" : "Shares";
      quoteSoon();
    });
    ticket.addEventListener("input", quoteSoon);
    ticket.addEventListener("change", quoteSoon);
    ticket.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = ticket.querySelector("[data-submit]");
      button.disabled = true;
      var key = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
      call("POST", api + "trades/", order(), { "Idempotency-Key": key }).then(function (res) {
        button.disabled = false;
        if (res.ok) {
          errorEl.hidden = true;
          showFill(res.data);
          document.body.dispatchEvent(new CustomEvent("marketsMine"));
          document.body.dispatchEvent(new CustomEvent("balanceChanged"));
        } else {
          errorEl.textContent = message(res);
          errorEl.hidden = false;
        }
      }, function () { button.disabled = false; });
    });
    quote();
  }

  // ------------------------------------------------------------------ stops and staff actions
  document.addEventListener("submit", function (e) {
    var form = e.target.closest(".stop-form");
    if (!form) return;
    e.preventDefault();
    call("POST", api + "stops/", { outcome: Number(form.dataset.outcome), trigger: form.querySelector("[name=trigger]").value })
      .then(function (res) {
        if (res.ok) document.body.dispatchEvent(new CustomEvent("marketsMine"));
        else alert(message(res));
      });
  });
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-cancel-stop]");
    if (!b) return;
    call("DELETE", api + "stops/" + b.dataset.cancelStop + "/").then(function () {
      document.body.dispatchEvent(new CustomEvent("marketsMine"));
    });
  });
  var staff = document.getElementById("staff-resolve");
  if (staff) {
    var staffError = document.querySelector("[data-staff-error]");
    var act = function (action) {
      var reason = staff.querySelector("[name=reason]").value.trim();
      var body = action === "resolve" ? { outcome: Number(staff.querySelector("[name=outcome]").value), reason: reason }
                                      : { reason: reason };
      call("POST", api + action + "/", body).then(function (res) {
        if (res.ok) location.reload();
        else { staffError.textContent = message(res); staffError.hidden = false; }
      });
    };
    staff.addEventListener("submit", function (e) { e.preventDefault(); act("resolve"); });
    staff.querySelector("[data-action=cancel]").addEventListener("click", function () { act("cancel"); });
  }
})();
