#!/usr/bin/env bash
# Install what is missing, then run the whole test suite (arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
# The scoring SQL is proven on Spark in local mode, which needs a Java runtime.
if ! command -v java >/dev/null 2>&1; then
    apt_install default-jre-headless
fi
.venv/bin/ruff check .
# Tests must never touch a user's real workspaces.
export ICP_DATA_DIR="${ICP_DATA_DIR:-$(mktemp -d)}"
exec .venv/bin/python -m pytest "$@"
