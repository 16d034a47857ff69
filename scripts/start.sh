#!/usr/bin/env bash
# Sets everything up, indexes seeds/ and answers a sample question.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/qa ingest
.venv/bin/qa ask "When did the film crew launch to the ISS?"
