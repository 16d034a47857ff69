#!/usr/bin/env bash
# The smoke lane: qa installed as a user installs it (pip install ., no dev tools) into a fresh
# venv of the given Python, then ingest, ask, serve with /readyz and one /ask, and a short eval
# (eval/dev.jsonl against its thresholds). scripts/test.sh runs it for the supported Pythons
# other than the one the full suite ran on.
#   bash scripts/smoke.sh /path/to/python3.13
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:?usage: scripts/smoke.sh PYTHON}"
version="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
venv=".venv-smoke-$version"
work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
say() { echo "== smoke $version: $*"; }

say "install"
if [ ! -x "$venv/bin/python" ]; then
  "$PY" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
fi
# From a copy of the sources: pip builds in the source tree (build/, *.egg-info), and the
# lanes of scripts/test.sh run side by side.
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done |
  xargs -0 cp --parents -t "$work/src"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$work/src"
qa="$venv/bin/qa"

export QA_CORPUS_DIR="$PWD/seeds" QA_INDEX_DIR="$work/index" QA_SLACK_DB="$work/slack.sqlite3"
export ANONYMIZED_TELEMETRY=False
say "ingest"; "$qa" ingest --json > "$work/ingest.json"
say "ask"
"$qa" ask --json "Who directs Challenge?" > "$work/answer.json"
"$venv/bin/python" - "$work/answer.json" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
assert answer["answered"] and answer["citations"], answer
PY

say "serve"
port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$qa" serve --port "$port" > "$work/serve.log" 2>&1 &
server=$!
"$venv/bin/python" - "$port" <<'PY'
import json, sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.monotonic() + 120
while True:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
            if response.status == 200:
                break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("qa serve did not become ready")
    time.sleep(0.3)
request = urllib.request.Request(
    base + "/ask",
    data=json.dumps({"question": "Who directs Challenge?"}).encode(),
    headers={"content-type": "application/json"},
)
with urllib.request.urlopen(request, timeout=60) as response:
    body = json.load(response)
assert body["answered"] and body["citations"], body
print(f"/readyz 200, /ask answered with {len(body['citations'])} citation(s)")
PY

say "eval (eval/dev.jsonl)"
# Totals only (scripts/eval_summary.py): CI logs never show a set's individual failures.
status=0
"$qa" eval --gold eval/dev.jsonl --report "$work/reports" --json > "$work/eval.json" || status=$?
"$venv/bin/python" scripts/eval_summary.py < "$work/eval.json"
[ "$status" -eq 0 ] || exit "$status"
say "passed"
