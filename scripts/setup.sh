#!/usr/bin/env bash
# Install what is missing for this checkout: Python 3.11+ with venv, then the project in .venv,
# with the pins of requirements/$ICP_INSTALL.txt (app or test; test when unset).
# Sourced by scripts/run.sh and scripts/test.sh; safe to run again (it only does what is missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
    echo "Installing system packages: $*"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v python3 >/dev/null 2>&1; then
    apt_install python3 python3-venv python3-pip
fi
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "ICP Explorer needs Python 3.11 or newer; found $(python3 --version)." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv >/dev/null 2>&1; then
        rm -rf .venv
        apt_install python3-venv
        python3 -m venv .venv
    fi
fi
# The pinned, hashed installs of requirements/ (scripts/lock.sh writes them): the app's alone for
# scripts/run.sh, the app's and the test tools' for scripts/test.sh. Reinstall only when a pin changed.
lock=requirements/${ICP_INSTALL:-test}.txt
stamp=.venv/.installed-${ICP_INSTALL:-test}-$(cat "$lock" pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
    echo "Installing Python packages from $lock into .venv (the first run takes a few minutes)…"
    .venv/bin/python -m pip install -q --require-hashes -r "$lock"
    .venv/bin/python -m pip install -q --no-deps -e .
    rm -f .venv/.installed-"${ICP_INSTALL:-test}"-*
    touch "$stamp"
fi
