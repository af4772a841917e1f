/* The live race track: horses follow the race room's frames over /ws/races/{id}/.
   Frames: {"type":"frame","seq":N,"ts":T,"left":S,"stale":B,"stocks":[{symbol,change_pct,position,stale,...}]}
   (docs/ARCHITECTURE-live.md). Room events (open, started, finished, settled, cancelled) set the
   track's state and announce "raceState", on which race_page.js re-renders the page's sections.

   Two halves: what the page does with a room message (handleMessage: frames, snapshots, events),
   and how messages arrive (the transport at the bottom: a WebSocket that reconnects). Another
   transport only needs to call handleMessage with each message it receives. */
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
  var lastStocks = null;
  var connected = false;
  // What the track says under its title in each state (while connected for a running race: "live").
  var STATE_TEXT = { scheduled: "waiting for the start", open: "waiting for the start", running: "connecting…",
                     calculating: "photo finish", completed: "final", cancelled: "cancelled" };
  var FINAL = { completed: 1, cancelled: 1 };

  function setConn(text, live) { if (conn) { conn.textContent = text; conn.classList.toggle("live", !!live); } }
  function showConn() {
    var state = track.dataset.state;
    if (state === "running" && connected) setConn("live", true);
    else if (state === "running" && socketWasOpen) setConn("reconnecting…", false);
    else setConn(STATE_TEXT[state] || "", false);
  }

  function pctText(pct) { return (pct > 0 ? "+" : "") + pct.toFixed(2) + "%"; }

  function render(stocks, anyStale) {
    lastStocks = stocks;
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
      label.textContent = s.change_pct == null ? "–" : pctText(pct);
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
      // The field table below the track (while the race runs: its rows carry data-field-row).
      var row = document.querySelector('[data-field-row="' + s.symbol + '"]');
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
    // Screen readers hear each change of leader (the symbol only: a percentage would be stale a
    // second later), not every frame.
    var first = stocks.filter(function (s) { return s.position === 1; })[0];
    if (first && first.symbol !== leader && leaderEl) {
      leader = first.symbol;
      leaderEl.textContent = "Leader: " + first.symbol;
    }
  }

  function applyFrame(frame) {
    if (!frame || !Array.isArray(frame.stocks)) return;
    if (FINAL[track.dataset.state] || track.dataset.state === "calculating") return;  // the final order stands
    if (typeof frame.seq === "number") {
      if (frame.seq <= lastSeq) return;  // an older frame arriving late
      lastSeq = frame.seq;
    }
    render(frame.stocks, !!frame.stale);
    track.dataset.seq = String(lastSeq);
  }

  // A finished race shows where each horse finished without any socket.
  var finals = [];
  Object.keys(lanes).forEach(function (symbol) {
    var lane = lanes[symbol];
    if (lane.dataset.pct !== undefined && lane.dataset.pct !== "") {
      finals.push({ symbol: symbol, change_pct: Number(lane.dataset.pct), position: Number(lane.dataset.rank) || 0 });
    }
  });
  if (finals.length) render(finals, false);

  // The page's sections were re-rendered: a new field table gets the latest prices at once, and
  // once the final order is on the page the horses stand where they finished (whatever events
  // this page missed or got out of order).
  document.body.addEventListener("htmx:afterSettle", function () {
    var finalOrder = document.querySelectorAll("#race-results [data-final-order] li[data-symbol]");
    if (finalOrder.length) {
      render([].map.call(finalOrder, function (li) {
        return { symbol: li.dataset.symbol, position: Number(li.dataset.position),
                 change_pct: li.dataset.pct === "" ? null : Number(li.dataset.pct) };
      }), false);
    } else if (lastStocks && document.querySelector("[data-field-row]")) {
      render(lastStocks, staleFlag && !staleFlag.hidden);
    }
  });

  var NEXT_STATE = { opened: "open", open: "open", started: "running", finished: "calculating", settled: "completed",
                     cancelled: "cancelled" };

  // The track's own state; ``announce``: ask the page to re-render its sections for it.
  function setState(state, announce) {
    if (!state || state === track.dataset.state) return;
    track.dataset.state = state;
    showConn();
    if (FINAL[state]) stop();
    if (announce) document.body.dispatchEvent(new CustomEvent("raceState", { detail: { state: state } }));
    // Payouts and refunds change the balance in the top bar.
    if (FINAL[state]) document.body.dispatchEvent(new CustomEvent("balanceChanged"));
  }
  // race_page.js found a new state on the page (its periodic check): the track follows.
  document.body.addEventListener("raceStateShown", function (event) { setState(event.detail.state, false); });

  function handleMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "frame") { applyFrame(msg); return; }
    if (msg.type === "snapshot") {
      var snap = msg.data || msg;
      applyFrame(snap.frame || null);
      if (snap.state) setState(snap.state, true);
      return;
    }
    if (!NEXT_STATE[msg.type]) return;
    var data = msg.data || {};
    if (Array.isArray(data.results)) {  // "finished" carries the final order
      render(data.results.map(function (r) {
        return { symbol: r.symbol, change_pct: r.change_pct != null ? Number(r.change_pct) : Number(r.pct_change),
                 position: r.position || r.final_position };
      }), false);
    }
    setState(NEXT_STATE[msg.type], true);
  }

  // ---- transport: the race room's live channel (static/js/live_channel.js): the WebSocket, or
  // Server-Sent Events when the socket cannot connect or keeps dropping, until the race is over.
  var channel = null, socketWasOpen = false, stopped = FINAL[track.dataset.state];

  function stop() {
    stopped = true;
    if (channel) channel.close();
  }

  function connect() {
    if (stopped || !window.LiveChannel) return;
    channel = new window.LiveChannel({
      ws: "/ws/races/" + raceId + "/", sse: "/live/races/" + raceId + "/events",
      onmessage: handleMessage,
      onstate: function (name) {
        connected = name !== "down";
        if (connected) socketWasOpen = true;
        track.dataset.transport = name;
        showConn();
      },
    });
  }
  showConn();
  connect();
})();
