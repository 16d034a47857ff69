#!/usr/bin/env bash
# Sets everything up and runs the whole suite: lint, types, the eval gate, tests, and the smoke
# lane on the other supported Pythons. CI runs exactly this.
#   bash scripts/test.sh            the whole suite (CI)
#   bash scripts/test.sh --fast     the quick lane: lint and the tests not marked slow
# Other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
if [ "${1:-}" = "--fast" ]; then
  fast=1
  shift
fi
# Each step says when it starts (seconds since this script began).
step() { echo "== $1 [${SECONDS}s]"; }
# Python's bytecode cache on, whatever the caller's environment says: without it every worker
# and subprocess compiles qa/ again and pytest rewrites ~400 modules' asserts (~5 s a worker).
unset PYTHONDONTWRITEBYTECODE
logs=""
pids=()
# On the way out, whatever happened: stop what still runs in the background. Each command may
# fail (the job has ended) without turning the run's exit status into a failure (set -e).
cleanup() {
  local p
  for p in "${pids[@]}"; do
    pkill -P "$p" 2>/dev/null || true
    kill "$p" 2>/dev/null || true
  done
  if [ -n "$logs" ]; then rm -rf "$logs"; fi
}
trap cleanup EXIT
if [ "$fast" = 0 ]; then
  logs="$(mktemp -d)"
  # The real-LLM integration test (tests/qa/test_llamacpp.py) needs llama.cpp and SmolLM2:
  # built once (~1.5 min on 2 cores), then cached outside the repo. The build starts first and
  # runs beside the setup, lint and types, which mostly use one core. Here it must run, not
  # skip.
  step "llama.cpp (beside setup, ruff and mypy)"
  bash scripts/llamacpp.sh >"$logs/llamacpp" 2>&1 &
  llamacpp=$!
  pids+=("$llamacpp")
fi
bash scripts/setup.sh
if [ "$fast" = 0 ]; then
  # The training lane's torch, installed beside ruff, mypy and the llama.cpp build (pip, one
  # core); its tests run beside the smoke lanes.
  bash scripts/training-lane.sh --install-only >"$logs/training-install" 2>&1 &
  training_install=$!
  pids+=("$training_install")
fi
export ANONYMIZED_TELEMETRY=False
step ruff; .venv/bin/ruff check . && .venv/bin/ruff format --check .
if [ "$fast" = 1 ]; then
  step "pytest (fast lane: no slow tests, no eval gate, no llama.cpp, browser or smoke lane)"
  exec .venv/bin/python -m pytest -q -m "not slow" -n 2 "$@"
fi
step mypy; .venv/bin/mypy
step "llama.cpp: waiting for it"
status=0; wait "$llamacpp" || status=$?
cat "$logs/llamacpp"
[ "$status" -eq 0 ] || exit "$status"
# The web page's tests run in a real browser: Debian's Chromium, installed when missing.
step chromium; bash scripts/chromium.sh
# The quality gate (scripts/eval.sh) runs first but fails the run only at the end, so that
# every verdict (gate, pytest, smoke lane) is seen.
step eval; gate=0; bash scripts/eval.sh || gate=$?
export QA_REQUIRE_LLAMACPP=1
# Two workers, each test file on one of them (a file's servers and fixtures start once).
step pytest; .venv/bin/python -m pytest -q -n 2 --dist loadfile "$@" || exit $?
# The smoke lane: install, ingest, ask, serve and a short eval on each other supported Python.
# shellcheck source=scripts/python.sh
. scripts/python.sh
others="$(other_pythons .venv/bin/python)"
if [ -z "$others" ]; then
  echo "== smoke lane: no other supported Python (3.11-3.13) found; skipped"
fi
# The lanes run side by side, one thread each for the embedding and the reader (two
# processes on two cores): most of a lane is pip and process start-up, on one core.
lanes=()
for other in $others; do
  step "smoke lane $other (side by side; its lines follow when it ends)"
  log="$logs/smoke-${#lanes[@]}"
  QA_EMBED_THREADS=1 QA_READER_THREADS=1 bash scripts/smoke.sh "$other" >"$log" 2>&1 &
  pids+=("$!")
  lanes+=("$!:$log")
done
# The training lane (scripts/training-lane.sh): torch on top of .venv, then the tests of training
# itself, beside the smoke lanes, on one thread. Beside the eval gate, their threads took the
# gate from 58 s to 109 s.
step "training lane (side by side; its lines follow the smoke lanes')"
status=0; wait "$training_install" || status=$?
if [ "$status" -ne 0 ]; then cat "$logs/training-install"; exit "$status"; fi
OMP_NUM_THREADS=1 bash scripts/training-lane.sh >"$logs/training" 2>&1 &
pids+=("$!")
lanes+=("$!:$logs/training")
smoke=0
for lane in "${lanes[@]}"; do
  status=0; wait "${lane%%:*}" || status=$?
  cat "${lane#*:}"
  [ "$status" -eq 0 ] || smoke=$status
done
[ "$smoke" -eq 0 ] || exit "$smoke"
if [ "$gate" -ne 0 ]; then echo "== eval: the quality gate failed (above)" >&2; exit "$gate"; fi
step "all passed"
