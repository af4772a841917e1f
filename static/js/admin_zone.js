/* Admin: keeps the browser's time zone in the stockrace_tz cookie, so the admin shows and reads
   times in it (apps/core/timezones.py). Set on the login page already, before any list is shown;
   if the zone changed (travel), the next page follows it. */
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) return;
  var current = (document.cookie.match(/(?:^|;\s*)stockrace_tz=([^;]*)/) || [])[1];
  if (current && decodeURIComponent(current) === zone) return;
  document.cookie = "stockrace_tz=" + encodeURIComponent(zone) + "; path=/admin/; max-age=31536000; SameSite=Lax" +
    (location.protocol === "https:" ? "; Secure" : "");
})();
