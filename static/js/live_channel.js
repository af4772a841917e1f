/* One live channel for a page: the WebSocket while it works, Server-Sent Events over HTTP
   (apps/live/fallback.py: the same messages, byte for byte) when the socket cannot connect or
   keeps dropping, and back to the socket when a probe finds it working again.

   new LiveChannel({ws: "/ws/races/12/", sse: "/live/races/12/events",
                    onmessage: function (msg) {...}, onstate: function ("ws"|"sse"|"down") {...},
                    onopen: function (send) {...}})
   onopen (optional) runs each time a socket opens, with a function that sends a message on it
   (the quotes page subscribes there; its stream's URL names the symbols instead).
   Race frames and /ws/me/ events carry "seq": the last one seen is where the HTTP stream resumes
   (?after=, then the browser's own Last-Event-ID). Quotes carry none: a stream starts with a
   fresh snapshot. Pings are answered on the socket and never passed on.
   Used by the race page (race_track.js), the toasts (toasts.js, /ws/me/) and the stock page's
   ticker (stock_chart.js, /ws/quotes/). */
(function () {
  var DROPS_BEFORE_FALLBACK = 3, DROP_WINDOW_MS = 60000, PROBE_EVERY_MS = 30000;

  function LiveChannel(opts) {
    var socket = null, source = null, stopped = false, drops = [], delay = 1000, lastSeq = null, probeTimer = null;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";

    function state(name) { if (opts.onstate) opts.onstate(name); }

    function deliver(text, viaSocket) {
      var msg;
      try { msg = JSON.parse(text); } catch (e) { return; }
      if (msg.type === "ping") { if (viaSocket && socket) socket.send('{"type":"ping"}'); return; }
      if (msg.type === "pong") return;
      if (typeof msg.seq === "number") lastSeq = msg.seq;
      else if (msg.type === "snapshot" && msg.frame && typeof msg.frame.seq === "number") lastSeq = msg.frame.seq;
      opts.onmessage(msg);
    }

    // A socket that, once open, is the channel's until it closes: then socketFailed decides what
    // next. onFail is for a socket that never opened (a first try, or a probe from the fallback).
    function open(onOpen, onFail) {
      var ws, opened = false;
      try { ws = new WebSocket(scheme + location.host + opts.ws); } catch (e) { onFail(); return; }
      ws.onopen = function () {
        opened = true; onOpen(ws);
        if (opts.onopen) opts.onopen(function (text) { if (socket === ws) ws.send(text); });
      };
      ws.onmessage = function (event) { if (socket === ws) deliver(event.data, true); };
      ws.onclose = function () {
        var mine = socket === ws;
        if (mine) socket = null;
        if (stopped) return;
        if (!opened) onFail(); else if (mine) socketFailed(true);
      };
    }

    function useSocket() {
      if (stopped) return;
      if (!("WebSocket" in window)) { useEvents(); return; }
      open(function (ws) { socket = ws; delay = 1000; state("ws"); }, function () { socketFailed(false); });
    }

    function socketFailed(wasOpen) {
      var now = Date.now();
      drops = drops.filter(function (t) { return now - t < DROP_WINDOW_MS; });
      drops.push(now);
      if (!wasOpen || drops.length >= DROPS_BEFORE_FALLBACK || !("EventSource" in window)) {
        if ("EventSource" in window) { useEvents(); return; }
      }
      state("down");
      setTimeout(useSocket, delay);
      delay = Math.min(delay * 2, 15000);
    }

    function useEvents() {
      if (stopped || source) return;
      var url = opts.sse + (lastSeq !== null ? (opts.sse.indexOf("?") < 0 ? "?" : "&") + "after=" + lastSeq : "");
      source = new EventSource(url);
      source.onopen = function () { state("sse"); };
      source.onmessage = function (event) { deliver(event.data, false); };
      clearTimeout(probeTimer);
      probeTimer = setTimeout(probe, PROBE_EVERY_MS);
    }

    function probe() {  // in fallback: is the socket back? Switch only once it has opened.
      if (stopped || !source || !("WebSocket" in window)) return;
      open(function (ws) {
        if (source) { source.close(); source = null; }
        socket = ws; drops = []; delay = 1000; state("ws");
      }, function () { probeTimer = setTimeout(probe, PROBE_EVERY_MS); });
    }

    this.close = function () {
      stopped = true;
      clearTimeout(probeTimer);
      if (socket) socket.close();
      if (source) source.close();
    };
    useSocket();
  }

  window.LiveChannel = LiveChannel;
})();
