#!/usr/bin/env bash
# The documentation site's checks, as CI runs them: builds the site with warnings as errors (docs/build.sh: docfx, an
# invalid link or bookmark between pages is a warning), then checks every link and anchor of the built pages, the
# diagnostics' anchors, and that the main pages and the models' pictures render in headless Chromium (Debian's
# chromium, installed with apt-get when missing). Prints one "PASS …" or "FAIL …" line per check; exits 1 on a failure.
#   bash docs/check-site.sh [screenshot folder]
set -uo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium (a minute or two)"
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_="sudo"
  if ! { $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium; } >/tmp/mtldsl-apt-chromium.log 2>&1; then
    tail -20 /tmp/mtldsl-apt-chromium.log
    echo "FAIL installing chromium with apt-get (log above): the site's rendering cannot be checked"
    exit 1
  fi
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if bash docs/build.sh >"$log" 2>&1; then
  echo "PASS the documentation site builds with warnings as errors ($(grep -cE '^Building ' "$log") document groups)"
else
  grep -E 'warning|error' "$log" | tail -30
  echo "FAIL the documentation site does not build with warnings as errors (above)"
  exit 1
fi
/usr/bin/python3 docs/check_site.py docs/_site --screenshots "${1:-$(mktemp -d)}"
