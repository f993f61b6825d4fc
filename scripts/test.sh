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
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
fi
.venv/bin/ruff check .
# Tests must never touch a user's real workspaces.
export ICP_DATA_DIR="${ICP_DATA_DIR:-$(mktemp -d)}"
exec .venv/bin/python -m pytest "$@"
