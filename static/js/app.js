/* StockRace page helpers: countdowns on the server's clock and the quick-stake chips. */
(function () {
  "use strict";
  // The server renders its Redis time: countdowns use it, whatever the visitor's clock says.
  var skew = (Number(document.body.dataset.serverNow) || Date.now()) - Date.now();
  function now() { return Date.now() + skew; }

  function format(ms) {
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + String(m).padStart(2, "0") + "m";
    return m + ":" + String(sec).padStart(2, "0");
  }

  function tick() {
    var expired = false;
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Date.parse(el.dataset.countdown) - now();
      var digits = el.querySelector(".countdown");
      if (left > 0) {
        if (digits) digits.textContent = format(left); else el.textContent = (el.dataset.prefix || "") + format(left);
        return;
      }
      el.textContent = el.dataset.done || "now";
      // Only a deadline that just passed: a late one is left to the race page's periodic check.
      if (!el.dataset.fired && left > -30000) { el.dataset.fired = "1"; expired = true; }
    });
    // A deadline passed on the race page: give the lifecycle a moment, then refresh the sections.
    if (expired && document.getElementById("race-head")) {
      setTimeout(function () { document.body.dispatchEvent(new CustomEvent("raceState")); }, 1500);
    }
  }
  // Times the server wrote in UTC, shown in the visitor's own zone (and day, when not today).
  function localTimes(root) {
    (root || document).querySelectorAll("time[data-local-time]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var text = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      if (at.toDateString() !== new Date().toDateString()) {
        text = at.toLocaleDateString([], { month: "short", day: "numeric" }) + ", " + text;
      }
      el.textContent = text;
      el.title = at.toLocaleString();
    });
  }

  tick();
  localTimes();
  setInterval(tick, 1000);
  // Swapped-in sections get their countdowns and local times at once, not a second later.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    tick();
    localTimes();
  });

  document.addEventListener("click", function (event) {
    var chip = event.target.closest("[data-stake]");
    if (!chip) return;
    var input = chip.closest("form").querySelector("input[name=stake]");
    input.value = chip.dataset.stake;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();
