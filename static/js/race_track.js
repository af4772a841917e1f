/* The live race track: horses follow the race room's frames over /ws/races/{id}/.
   Frames: {"type":"frame","seq":N,"ts":T,"left":S,"stale":B,"stocks":[{symbol,change_pct,position,stale,...}]}
   (docs/ARCHITECTURE-live.md). State events (started, finished, settled, cancelled) refresh the page sections. */
(function () {
  "use strict";
  var track = document.getElementById("track");
  if (!track) return;
  var raceId = track.dataset.race;
  var lanes = {};
  track.querySelectorAll(".lane").forEach(function (lane) { lanes[lane.dataset.symbol] = lane; });
  var staleFlag = track.querySelector("[data-stale-flag]");
  var conn = track.querySelector("[data-conn]");
  var positions = {};
  var leaderEl = track.querySelector("[data-leader]");
  var leader = null;
  var lastSeq = -1;

  function setConn(text, live) { if (conn) { conn.textContent = text; conn.classList.toggle("live", !!live); } }

  function render(stocks, anyStale) {
    var max = 0;
    stocks.forEach(function (s) { if (s.change_pct != null) max = Math.max(max, Math.abs(s.change_pct)); });
    // Zoom so the widest move uses most of the lane, but keep tiny moves small.
    var scale = Math.max(0.2, max * 1.15);
    stocks.forEach(function (s) {
      var lane = lanes[s.symbol];
      if (!lane) return;
      var pct = s.change_pct == null ? 0 : Number(s.change_pct);
      // --t: 0 at the far left, .5 on the 0% line, 1 at the finish (CSS keeps the horse inside the lane).
      var t = 0.5 + Math.max(-1, Math.min(1, pct / scale)) * 0.5;
      lane.querySelector("[data-horse]").style.setProperty("--t", t.toFixed(4));
      var label = lane.querySelector("[data-pct-label]");
      label.textContent = s.change_pct == null ? "–" : (pct > 0 ? "+" : "") + pct.toFixed(2) + "%";
      label.className = "lane-pct " + (pct > 0 ? "up" : pct < 0 ? "down" : "");
      if (s.position) {
        var before = positions[s.symbol];
        lane.dataset.rank = s.position;
        lane.querySelector("[data-rank-label]").textContent = s.position;
        if (before && s.position !== before) {
          var cls = s.position < before ? "overtake" : "dropped";
          lane.classList.remove("overtake", "dropped");
          void lane.offsetWidth;  // restart the highlight
          lane.classList.add(cls);
          setTimeout(function () { lane.classList.remove(cls); }, 1600);
        }
        positions[s.symbol] = s.position;
      }
      var row = track.parentNode.querySelector('[data-field-row="' + s.symbol + '"]');
      if (row) {
        if (s.price != null) row.querySelector("[data-field-price]").textContent =
          Number(s.price).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
        var cell = row.querySelector("[data-field-pct]");
        cell.textContent = label.textContent;
        cell.className = "num " + (pct > 0 ? "up" : pct < 0 ? "down" : "");
      }
      lane.classList.toggle("is-stale", !!s.stale);
      lane.querySelector("[data-lane-stale]").hidden = !s.stale;
    });
    if (staleFlag) staleFlag.hidden = !anyStale;
    // Screen readers hear each change of leader, not every frame.
    var first = stocks.filter(function (s) { return s.position === 1; })[0];
    if (first && first.symbol !== leader && leaderEl) {
      leader = first.symbol;
      leaderEl.textContent = "Leader: " + first.symbol + (first.change_pct != null ? " " + lanes[first.symbol].querySelector("[data-pct-label]").textContent : "");
    }
  }

  function applyFrame(frame) {
    if (!frame || !Array.isArray(frame.stocks)) return;
    if (typeof frame.seq === "number") {
      if (frame.seq <= lastSeq) return;  // an older frame arriving late
      lastSeq = frame.seq;
    }
    render(frame.stocks, !!frame.stale);
    track.dataset.seq = String(lastSeq);
  }

  // A settled race shows where each horse finished without any socket.
  var finals = [];
  Object.keys(lanes).forEach(function (symbol) {
    var lane = lanes[symbol];
    if (lane.dataset.pct !== undefined && lane.dataset.pct !== "") {
      finals.push({ symbol: symbol, change_pct: Number(lane.dataset.pct), position: Number(lane.dataset.rank) || 0 });
    }
  });
  if (finals.length) render(finals, false);

  var STATE_EVENTS = { open: 1, opened: 1, started: 1, finished: 1, settled: 1, cancelled: 1, state: 1 };
  var done = track.dataset.state === "completed" || track.dataset.state === "cancelled";
  var delay = 1000, socket = null;

  function stateChanged(state) {
    if (state) track.dataset.state = state;
    done = track.dataset.state === "completed" || track.dataset.state === "cancelled";
    if (done) setConn(track.dataset.state === "completed" ? "final" : "cancelled", false);
    document.body.dispatchEvent(new CustomEvent("raceState", { detail: { state: state } }));
    // Payouts and refunds change the balance in the top bar.
    if (done) document.body.dispatchEvent(new CustomEvent("balanceChanged"));
  }

  function onMessage(event) {
    var msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    if (msg.type === "frame") { applyFrame(msg); return; }
    if (msg.type === "snapshot") {
      var snap = msg.data || msg;
      applyFrame(snap.frame || snap.last_frame || (snap.stocks ? snap : null));
      if (snap.state && snap.state !== track.dataset.state) stateChanged(snap.state);
      return;
    }
    if (msg.type === "ping" && socket) { socket.send(JSON.stringify({ type: "pong" })); return; }
    if (STATE_EVENTS[msg.type]) {
      var data = msg.data || {};
      if (Array.isArray(data.results)) {  // "finished" carries the final order
        render(data.results.map(function (r) {
          return { symbol: r.symbol, change_pct: r.change_pct != null ? Number(r.change_pct) : Number(r.pct_change),
                   position: r.position || r.final_position };
        }), false);
      }
      var next = { started: "running", finished: "calculating", settled: "completed", cancelled: "cancelled",
                   opened: "open", open: "open" };
      stateChanged(data.state || next[msg.type]);
    }
  }

  function connect() {
    if (done || !("WebSocket" in window)) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/races/" + raceId + "/");
    socket.onopen = function () { delay = 1000; setConn("live", true); };
    socket.onmessage = onMessage;
    socket.onclose = function () {
      socket = null;
      if (done) { setConn("final", false); return; }
      setConn("reconnecting…", false);
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    };
  }
  connect();
})();
