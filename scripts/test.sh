#!/usr/bin/env bash
# Install what is missing, then run the whole test suite (arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
ICP_INSTALL=test source scripts/setup.sh
# The scoring SQL is proven on Spark in local mode, which needs a Java runtime; the end-to-end
# tests drive Debian's Chromium (Playwright cannot download browsers here).
missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
fi
.venv/bin/ruff check .
# Tests must never touch a user's real workspaces.
export ICP_DATA_DIR="${ICP_DATA_DIR:-$(mktemp -d)}"
# Two workers on this two-core machine for everything but the browser tests, which then run
# alone: two browsers and two servers beside CPU-bound tests on two cores time each other out.
# ICP_TEST_WORKERS=0 runs everything in this one process; a -m of your own is one run on the workers.
workers="${ICP_TEST_WORKERS:-2}"
if [ "$workers" = 0 ]; then
    exec .venv/bin/python -m pytest "$@"
fi
for arg in "$@"; do
    if [ "$arg" = "-m" ] || [[ "$arg" == -m* ]]; then
        exec .venv/bin/python -m pytest -n "$workers" --dist loadgroup "$@"
    fi
done
status=0
.venv/bin/python -m pytest -n "$workers" --dist loadgroup -m "not e2e" "$@" || status=$?
browser=0
.venv/bin/python -m pytest -m e2e "$@" || browser=$?
# Exit status 5 is "no test selected": not a failure for one part (a -k that matches only the other),
# still 5 when neither part ran a test.
if [ "$status" = 5 ] && [ "$browser" = 5 ]; then exit 5; fi
[ "$status" = 5 ] && status=0
[ "$browser" = 5 ] && browser=0
if [ "$status" != 0 ]; then exit "$status"; fi
exit "$browser"
