#!/usr/bin/env bash
# Write the pinned, hashed installs: requirements/app.txt (what the app needs, installed by
# scripts/run.sh) and requirements/test.txt (that plus the test tools, installed by scripts/test.sh),
# for Python 3.11 on Linux x86_64. With no argument the pins stay where they are (only the packages
# pyproject.toml adds or drops change); `scripts/lock.sh --upgrade` moves every pin to the newest
# release pyproject.toml allows. Run the whole test suite before committing new pins.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/python" -m pip install -q "uv==0.13.9"
keep=()
if [ "${1:-}" != "--upgrade" ] && [ -f requirements/test.txt ]; then
    grep -E '^[A-Za-z0-9_.-]+==' requirements/test.txt | sed 's/ .*//' > "$tools/pins.txt"
    keep=(--constraint "$tools/pins.txt")
fi
for kind in app test; do
    extra=()
    [ "$kind" = test ] && extra=(--extra test)
    "$tools/bin/uv" pip compile pyproject.toml "${extra[@]}" "${keep[@]}" -q \
        --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --generate-hashes --no-annotate \
        --custom-compile-command "scripts/lock.sh" -o "requirements/$kind.txt"
done
