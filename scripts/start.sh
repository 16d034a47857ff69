#!/usr/bin/env bash
# Sets everything up, indexes seeds/ and serves the API at http://127.0.0.1:8000 (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/qa ingest
cat >&2 <<'HELP'

Serving the API at http://127.0.0.1:8000 (docs: http://127.0.0.1:8000/docs). Try:
  curl -s localhost:8000/ask -H 'content-type: application/json' -d '{"question":"Who directs Challenge?"}'
HELP
exec .venv/bin/qa serve
