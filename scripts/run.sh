#!/usr/bin/env bash
# Install what is missing, then serve the app on the demo workspace at http://localhost:8501.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
exec .venv/bin/streamlit run app.py "$@"
