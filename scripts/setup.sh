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
# pip takes ~6 s to find that nothing needs installing: skip it while what it installs from
# (pyproject.toml, this script, the venv's Python) is unchanged. rm .venv/.qa-setup forces it.
stamp=.venv/.qa-setup
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1) $(.venv/bin/python -V 2>&1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
rm -f "$stamp"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
# --no-compile: each module is byte-compiled when first imported instead (the cache is on in
# scripts/test.sh), not every file of every package up front: 37 s against 53 s.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -e ".[dev]"
echo "$want" >"$stamp"
