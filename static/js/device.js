// Fair play (docs/FAIRPLAY.md): a device fingerprint computed here by the vendored FingerprintJS 5
// (MIT; static/vendor/fingerprint.min.js, brought by scripts/fetch_assets.sh, never from a CDN, and
// its usage ping turned off), kept in the sr_dev cookie that sign-up, login and bet requests carry
// (apps/core/observe.py). It is one signal among many and never restricts anyone on its own:
// phones of one model share it.
(function () {
  "use strict";
  if (!window.FingerprintJS || !navigator.cookieEnabled) return;
  window.FingerprintJS.load({ monitoring: false })
    .then(function (agent) { return agent.get(); })
    .then(function (result) {
      if (/^[A-Za-z0-9_-]{6,64}$/.test(result.visitorId)) {
        document.cookie = "sr_dev=" + result.visitorId + "; path=/; max-age=31536000; SameSite=Lax";
      }
    })
    .catch(function () { /* no fingerprint: nothing else depends on it */ });
})();
