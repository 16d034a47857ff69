#!/usr/bin/env bash
# The training lane of scripts/test.sh: the tests of training itself (train, resume, export;
# tests/support/training.py) need torch and transformers, which the main .venv leaves out.
# .venv-train holds only the training extra (~1.1 GB; under 20 s to install); everything else,
# qa included, it takes from .venv through a .pth file, so that it repeats no install.
# python -m qa.training runs from it too. Safe to run again.
#   bash scripts/training-lane.sh                 set up, then run the tests marked training
#   bash scripts/training-lane.sh --install-only  set up only
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh  # .venv (at once when it is up to date)
python_of() { "$1" -c 'import sys; print(sys.version)'; }
if [ -x .venv-train/bin/python ] && [ "$(python_of .venv-train/bin/python)" != "$(python_of .venv/bin/python)" ]; then
  rm -rf .venv-train  # .venv was rebuilt on another Python
fi
if [ ! -x .venv-train/bin/python ]; then
  .venv/bin/python -m venv .venv-train
fi
site_of() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
echo "import site; site.addsitedir('$(site_of .venv/bin/python)')" \
  >"$(site_of .venv-train/bin/python)/qa-main-venv.pth"
# As in setup.sh: skip pip while what it installs from is unchanged.
stamp=.venv-train/.qa-setup
want="$(cat pyproject.toml scripts/training-lane.sh | sha256sum | cut -d' ' -f1) $(.venv-train/bin/python -V 2>&1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -f "$stamp"
  # --no-compile: byte-compiling all of torch's files up front took as long as the install;
  # the few modules the tests import compile as they load.
  .venv-train/bin/python -m pip install --quiet --disable-pip-version-check --no-compile \
    -e ".[train]"
  echo "$want" >"$stamp"
fi
if [ "${1:-}" = "--install-only" ]; then
  exit 0
fi
export ANONYMIZED_TELEMETRY=False
# Here the tests of training must run, not skip (the others run in the main lane).
QA_REQUIRE_TRAINING=1 .venv-train/bin/python -m pytest -q -p no:cacheprovider -m training \
  tests/qa/training "$@"
