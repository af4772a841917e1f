#!/usr/bin/env bash
# The browser tests drive Debian's chromium through Playwright (no browser download).
# Installs the package when it is missing and we may (root with apt); otherwise says what to do.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || {
    echo "could not install chromium; the browser tests will be skipped with that reason" >&2; exit 0; }
else
  echo "chromium is not installed: the browser tests will be skipped (apt-get install chromium)" >&2
fi
