#!/usr/bin/env bash
# Creates .venv with a supported Python (3.11 to 3.13, see scripts/python.sh) and installs qa with
# its dev tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/python.sh
. scripts/python.sh

if [ ! -x .venv/bin/python ]; then
  "$(pick_python)" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
