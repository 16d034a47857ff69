#!/usr/bin/env bash
# The training lane of scripts/test.sh: the tests of training itself (train, resume, export;
# tests/support/training.py) need torch and transformers, which the main .venv leaves out.
# .venv-train holds qa with its dev tools and the training extra (~2.4 GB, about a minute the
# first time, then seconds); python -m qa.training runs from it too. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/python.sh
. scripts/python.sh

if [ ! -x .venv-train/bin/python ]; then
  "$(pick_python)" -m venv .venv-train
fi
# As in setup.sh: skip pip while what it installs from is unchanged.
stamp=.venv-train/.qa-setup
want="$(cat pyproject.toml scripts/training-lane.sh | sha256sum | cut -d' ' -f1) $(.venv-train/bin/python -V 2>&1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -f "$stamp"
  # --no-compile: byte-compiling all of torch's files up front took half the install's time
  # (96 s against 49 s); the few modules the tests import compile as they load.
  .venv-train/bin/python -m pip install --quiet --disable-pip-version-check --no-compile \
    -e ".[dev,train]"
  echo "$want" >"$stamp"
fi
export ANONYMIZED_TELEMETRY=False
# Here the tests of training must run, not skip.
QA_REQUIRE_TRAINING=1 .venv-train/bin/python -m pytest -q -p no:cacheprovider tests/qa/training "$@"
