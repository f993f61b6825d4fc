#!/usr/bin/env bash
# Install what is missing, then serve the app on the demo workspace at http://localhost:8501.
set -euo pipefail
cd "$(dirname "$0")/.."
ICP_INSTALL=app source scripts/setup.sh
# Workspaces of a run from the checkout live beside it (git-ignored); ICP_DATA_DIR still wins.
export ICP_DATA_DIR="${ICP_DATA_DIR:-$PWD/data/workspaces}"
exec .venv/bin/streamlit run app.py "$@"
