/* The race page follows the race's state without a reload, for bettors and spectators alike.
   Any sign that the state changed ("raceState" on <body>: a room event from race_track.js, or a
   countdown that ran out) makes #race-sync fetch /races/{id}/part/live/, which answers every
   state-dependent section (header, results, the field, bet panel, your bets), swapped in place by
   id (htmx out-of-band). #race-sync also checks every 20 s, sending the state the page shows
   (?since=): unchanged, only the header comes back, so a bet being filled in is never replaced.
   Once a new state is on the page, "raceStateShown" tells the track (race_track.js). */
(function () {
  "use strict";
  var sync = document.querySelector("[data-race-sync]");
  if (!sync) return;
  var FINAL = { completed: 1, cancelled: 1 };

  function shownState() {
    var head = document.getElementById("race-head");
    return head ? head.dataset.state : "";
  }
  var last = shownState();

  document.body.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt !== sync) return;
    var state = shownState();
    // A finished page has nothing left to check; a room event still re-renders it (a late settlement).
    var trigger = event.detail.triggeringEvent;
    if (FINAL[state] && !(trigger && trigger.type === "raceState")) {
      event.preventDefault();
      return;
    }
    event.detail.parameters.since = state;
  });

  document.body.addEventListener("htmx:afterSettle", function () {
    var state = shownState();
    if (!state || state === last) return;
    last = state;
    var layout = document.getElementById("race-layout");
    if (layout) layout.className = "race-layout state-" + state;
    document.body.dispatchEvent(new CustomEvent("raceStateShown", { detail: { state: state } }));
  });
})();
