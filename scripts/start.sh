#!/usr/bin/env bash
# Sets everything up, indexes seeds/ and serves the page and API at http://127.0.0.1:8000 (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/qa ingest
cat >&2 <<'HELP'

Serving at http://127.0.0.1:8000: open it in a browser to ask (API docs: http://127.0.0.1:8000/docs). Or try:
  curl -s localhost:8000/ask -H 'content-type: application/json' -d '{"question":"Who directs Challenge?"}'
HELP
exec .venv/bin/qa serve
