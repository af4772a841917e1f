#!/usr/bin/env bash
# Brings the pinned front-end libraries (scripts/package.json) into static/vendor/.
# Run by `make run` and `make test`; the copied files are not committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vendor="$root/static/vendor"
stamp="$vendor/.stamp-$(sha1sum "$root/scripts/package.json" | cut -c1-12)"
[ -f "$stamp" ] && exit 0
if ! command -v npm >/dev/null; then
  echo "npm is needed to fetch the front-end libraries (htmx, lightweight-charts, fingerprintjs): install Node.js 18+" >&2
  exit 1
fi
work="$root/var/npm"
mkdir -p "$work" "$vendor"
cp "$root/scripts/package.json" "$work/package.json"
echo "fetching front-end libraries (htmx, lightweight-charts, fingerprintjs) from the npm registry..."
(cd "$work" && npm install --no-audit --no-fund --silent --no-package-lock >/dev/null)
cp "$work/node_modules/htmx.org/dist/htmx.min.js" "$vendor/htmx.min.js"
cp "$work/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js" "$vendor/lightweight-charts.js"
# The device fingerprint for fair play (static/js/device.js): FingerprintJS 5, MIT (4.x is BSL).
cp "$work/node_modules/@fingerprintjs/fingerprintjs/dist/fp.min.js" "$vendor/fingerprint.min.js"
rm -f "$vendor"/.stamp-*
touch "$stamp"
