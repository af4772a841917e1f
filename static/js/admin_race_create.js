/* Staff "create a race" form: sends the browser's time zone (the form reads and shows times in it)
   and keeps the date picker from offering a start before the betting window would fit. */
(function () {
  "use strict";
  var form = document.getElementById("race-create");
  if (!form) return;
  var zone = "UTC";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { /* old browser: UTC */ }
  var tz = form.querySelector("input[name=tz]");
  if (tz && !tz.value) tz.value = zone;
  var note = form.querySelector("[data-zone-note]");
  if (note) note.textContent = "Times are in your time zone, " + (tz ? tz.value : zone) + ".";

  var startAt = form.querySelector("input[name=starts_at]");
  var windowInput = form.querySelector("input[name=betting_window_seconds]");
  function pad(n) { return String(n).padStart(2, "0"); }
  function localValue(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function updateMin() {
    if (!startAt) return;
    var seconds = Number(windowInput && windowInput.value) || 0;
    startAt.min = localValue(new Date(Date.now() + (seconds + 60) * 1000));
  }
  if (windowInput) windowInput.addEventListener("input", updateMin);
  updateMin();
})();
