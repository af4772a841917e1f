/* Personal notifications over /ws/me/ (or its HTTP fallback): bet confirmed, race started, race settled with the payout,
   rank change, badge unlocked, balance moved. Each shows a toast (except "balance"); every event
   that moves points refreshes the top-bar balance.

   Events understood (fields beyond "type" are optional; "data" may wrap them):
     {"type": "bet_confirmed", "bet": {kind, symbol, symbols, low_pct, high_pct, stake, odds}, "balance": N}
     {"type": "race_started", "race_id": N, "title": "..."}   (no toast on that race's own page)
     {"type": "race_settled" | "payout", "race_id": N, "title": "...", "payout": N}
     {"type": "rank_changed", "board": "weekly", "rank": N}
     {"type": "badge_unlocked", "badge": {"code": "...", "name": "...", "rarity": "rare"}}
     {"type": "balance", "balance": N, "amount": N, "kind": "adjustment"}   (any ledger movement)
     {"type": "alert", "title": "...", "message": "..."}
   Unknown types are ignored. Icons are the SVG files in static/icons/. */
(function () {
  "use strict";
  var box = document.getElementById("toasts");
  if (!box || !window.LiveChannel) return;

  function pts(n) { return Number(n || 0).toLocaleString("en-US") + " pts"; }
  function pick(bet) {
    if (!bet) return "";
    if (bet.kind === "podium") return (bet.symbols || bet.podium || []).join(" › ");
    if (bet.kind === "bracket") return bet.symbol + " " + bet.low_pct + "…" + bet.high_pct + "%";
    return bet.symbol || "";
  }

  var icons = box.dataset.icons || "/static/icons/";
  var startedShown = {};  // race id -> true: one "Race started" per race on this page, however many bets
  function racePath(id) { return "/races/" + id + "/"; }

  function describe(msg) {
    var d = msg.data || msg;
    var raceId = d.race_id || d.race;
    switch (msg.type) {
      case "bet_confirmed":
        return { icon: "check", kind: "success", title: "Bet confirmed", balance: true,
                 body: (d.bet ? d.bet.kind + " · " + pick(d.bet) + " · " + pts(d.bet.stake) + " at " + d.bet.odds + "×" : "") };
      case "race_started": case "started":
        // Not over the race itself: its page shows the start already.
        if (raceId && (startedShown[raceId] || location.pathname === racePath(raceId))) return null;
        if (raceId) startedShown[raceId] = true;
        return { icon: "flag", title: "Race started", body: (d.title || d.race_title || "Your race") + " is off — watch it live.",
                 href: raceId ? racePath(raceId) : null };
      case "race_settled": case "settled": case "payout":
        var won = Number(d.payout != null ? d.payout : d.amount || 0);
        return { icon: won > 0 ? "star" : "dot", kind: won > 0 ? "gold" : "", balance: true, title: "Race settled",
                 body: (d.title || d.race_title || "Your race") + ": " + (won > 0 ? "you won " + pts(won) + "!" : "no payout this time."),
                 href: raceId ? racePath(raceId) : null };
      case "rank": case "rank_change": case "rank_changed":
        return { icon: "arrow-up", title: "New rank", body: "You are #" + (d.rank || d.new_rank) + " on the " + (d.board || "global") + " board." };
      case "badge": case "badge_unlocked":
        var b = d.badge || d;
        return { icon: "badges/" + (b.code || "default"), kind: "gold", title: "Badge unlocked", balance: !!b.reward,
                 body: (b.name || "A new badge") + (b.rarity ? " (" + b.rarity + ")" : "") + (b.reward ? " · +" + pts(b.reward) : "") };
      case "balance":
        return { silent: true, balance: true };
      case "alert":
        return { icon: "alert", kind: "warn", title: d.title || "Alert", body: d.message || "" };
      default:
        return null;
    }
  }

  function show(t) {
    var el = document.createElement(t.href ? "a" : "div");
    el.className = "toast" + (t.kind ? " toast-" + t.kind : "");
    if (t.href) { el.href = t.href; el.style.textDecoration = "none"; el.style.color = "inherit"; }
    var icon = document.createElement("img"); icon.className = "toast-icon"; icon.alt = ""; icon.width = 24; icon.height = 24;
    icon.src = icons + (t.icon || "dot") + ".svg";
    var text = document.createElement("span");
    var title = document.createElement("strong"); title.className = "toast-title"; title.textContent = t.title;
    var body = document.createElement("span"); body.className = "toast-body"; body.textContent = t.body || "";
    text.appendChild(title); text.appendChild(body); el.appendChild(icon); el.appendChild(text);
    box.appendChild(el);
    while (box.children.length > 4) box.removeChild(box.firstChild);
    setTimeout(function () { el.classList.add("leaving"); setTimeout(function () { el.remove(); }, 350); }, 6000);
  }
  window.stockraceToast = show;

  function setBalance(points) {
    var el = document.querySelector("#balance [data-balance-value]");
    if (!el) return false;
    el.textContent = Number(points).toLocaleString("en-US");
    return true;
  }

  // The personal channel (static/js/live_channel.js): /ws/me/, or its Server-Sent Events when the
  // socket cannot connect or keeps dropping (resumed after the last event seen, by its seq).
  new window.LiveChannel({
    ws: "/ws/me/", sse: "/live/me/events",
    onmessage: function (msg) {
      var t = describe(msg);
      if (!t) return;
      if (!t.silent) show(t);
      var d = msg.data || msg;
      // The event says the new balance (balance, bet_confirmed): shown at once; else the pill reloads.
      if (typeof d.balance === "number" && setBalance(d.balance)) return;
      if (t.balance) document.body.dispatchEvent(new CustomEvent("balanceChanged"));
    },
  });
})();
