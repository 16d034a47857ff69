"""Generative mode against a real OpenAI-compatible server: llama.cpp (llama-cpp-python's server)
serving SmolLM2-135M-Instruct. This checks the protocol end to end (plain and streamed replies,
usage, timeouts, the CLI and SSE over a real uvicorn), not the quality of a 135M model's
answers: whatever it writes must still come out as a valid, verbatim-cited answer contract.

``bash scripts/llamacpp.sh`` prepares ``.venv-llm`` and the model (``scripts/test.sh`` runs it
and sets QA_REQUIRE_LLAMACPP=1, so CI cannot skip this). Without them, the tests skip with the
reason, unless QA_REQUIRE_LLAMACPP is set, when they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from qa.citations import markers, quote_in_lines
from qa.engine import Engine
from qa.errors import LLMTimeoutError
from qa.llm import Completion, LLMClient
from qa.loading import Source, load_corpus
from qa.models import Answer
from qa.prompts import build_messages
from tests.conftest import copy_seed_index
from tests.support.processes import stop

pytestmark = pytest.mark.slow
Messages = list[dict[str, str]]

REPO_ROOT = Path(__file__).resolve().parents[2]
LLM_VENV = REPO_ROOT / ".venv-llm"
LLM_PYTHON = LLM_VENV / "bin" / "python"
MODEL = LLM_VENV / "models" / "smollm2.gguf"
MODEL_NAME = "smollm2"
DIRECTOR = "Who directs Challenge?"
_SCRIPT = Path(sys.executable).with_name("qa")
QA = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "service.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited {process.returncode}: {log.read_text(errors='replace')}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise AssertionError(f"{url} did not come up: {log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def llamacpp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a llama.cpp server on 127.0.0.1 serving SmolLM2-135M-Instruct."""
    missing = [str(p) for p in (LLM_PYTHON, MODEL) if not p.exists()]
    if missing:
        reason = f"llama.cpp is not prepared ({', '.join(missing)} missing)"
        reason += ": run bash scripts/llamacpp.sh"
        if os.environ.get("QA_REQUIRE_LLAMACPP"):
            pytest.fail(f"QA_REQUIRE_LLAMACPP is set but {reason}")
        pytest.skip(reason)
    port = free_port()
    log = tmp_path_factory.mktemp("llamacpp") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(LLM_PYTHON),
                "-m",
                "llama_cpp.server",
                "--model",
                str(MODEL),
                "--model_alias",
                MODEL_NAME,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                # 2 threads gave erratic 1-95 s replies on the 2-core CI machine.
                "--n_threads",
                "1",
                "--n_ctx",
                "4096",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for(url + "/models", process, log)
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="module")
def workspace(
    tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path, seed_index_cache: Path
) -> Path:
    """A copy of the seeds and of their cached index (ingesting is tested elsewhere; here it
    would only add ~12 s of embedding)."""
    root = tmp_path_factory.mktemp("llamacpp-workspace")
    (root / "corpus").mkdir()
    for path in seeds_dir.glob("*.txt"):
        shutil.copy2(path, root / "corpus" / path.name)
    copy_seed_index(seed_index_cache, root / "index")
    return root


@pytest.fixture(scope="module")
def sources(seeds_dir: Path) -> dict[str, Source]:
    return {s.path: s for s in load_corpus(seeds_dir).sources}


def qa_env(workspace: Path, url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    return env | {
        "QA_CORPUS_DIR": str(workspace / "corpus"),
        "QA_INDEX_DIR": str(workspace / "index"),
        "QA_LLM_BASE_URL": url,
        "QA_LLM_MODEL": MODEL_NAME,
        # A bound for a broken server, not a performance target.
        "QA_LLM_TIMEOUT_S": "180",
        "QA_LLM_MAX_TOKENS": "128",
        # A failure must show, not hide behind the extractive answer.
        "QA_LLM_FALLBACK": "error",
        "ANONYMIZED_TELEMETRY": "False",
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


@contextmanager
def qa_serve(workspace: Path, llm_url: str, log_name: str) -> Iterator[str]:
    """`qa serve` (a real uvicorn) in front of llama.cpp; its URL once /readyz is 200."""
    port = free_port()
    log = workspace / log_name
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*QA, "serve", "--port", str(port)],
            env=qa_env(workspace, llm_url),
            cwd=workspace,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/readyz", server, log)
        yield url
    finally:
        stop(server)


@pytest.fixture(scope="module")
def director_messages(seed_engine: Engine) -> Messages:
    """The generative prompt for the director question over the seed index."""
    evidence = seed_engine.retrieve(DIRECTOR, 5)[0]
    return build_messages(DIRECTOR, evidence.chunks)


def check_answer(answer: Answer, sources: dict[str, Source]) -> None:
    assert answer.mode == "generative"
    assert answer.question == DIRECTOR
    assert answer.answer.strip()
    assert [c.id for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert all(quote_in_lines(c, sources[c.source]) for c in answer.citations)
    if answer.answered:
        assert markers(answer.answer) == [c.id for c in answer.citations]
    else:
        assert not markers(answer.answer)


def test_plain_completion_reports_usage(llamacpp: str, director_messages: Messages) -> None:
    llm = LLMClient(llamacpp, MODEL_NAME, timeout_s=180, max_tokens=32)
    completion = llm.complete(director_messages)
    assert completion.text.strip()
    assert completion.model == MODEL_NAME
    assert completion.finish_reason in {"stop", "length"}
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 100  # the numbered sources went in
    assert 0 < completion.usage.completion_tokens <= 32


def test_streamed_completion_arrives_in_deltas(llamacpp: str, director_messages: Messages) -> None:
    llm = LLMClient(llamacpp, MODEL_NAME, timeout_s=180, max_tokens=32)
    items = list(llm.stream(director_messages))
    *deltas, last = items
    assert isinstance(last, Completion)
    assert len(deltas) > 1 and all(isinstance(d, str) for d in deltas)
    assert "".join(d for d in deltas if isinstance(d, str)) == last.text
    assert last.finish_reason in {"stop", "length"}
    # llama-cpp-python's server ignores stream_options.include_usage (OpenAI and vLLM send it):
    # usage is then unknown, never made up.
    assert last.usage is None or last.usage.completion_tokens > 0


def test_cli_ask_generative_json_prints_a_valid_answer(
    llamacpp: str, workspace: Path, sources: dict[str, Source]
) -> None:
    result = subprocess.run(
        [*QA, "ask", "--mode", "generative", DIRECTOR, "--json"],
        env=qa_env(workspace, llamacpp),
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    check_answer(Answer.model_validate_json(result.stdout), sources)


def test_streaming_over_http_end_to_end(
    llamacpp: str, workspace: Path, sources: dict[str, Source]
) -> None:
    """qa serve (a real uvicorn) in front of llama.cpp: deltas, then the checked answer."""
    with qa_serve(workspace, llamacpp, "serve.log") as url:
        events: list[tuple[str, object]] = []
        name = "message"
        with httpx.stream(
            "POST", url + "/ask/stream", json={"question": DIRECTOR}, timeout=300
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    events.append((name, json.loads(line.split(":", 1)[1])))
    names = [n for n, _ in events]
    assert names[-1] == "answer", events[-1]
    assert names.count("delta") >= 1 and set(names[:-1]) == {"delta"}
    check_answer(Answer.model_validate(events[-1][1]), sources)


def test_a_short_timeout_is_a_clear_error_not_a_hang(
    llamacpp: str, director_messages: Messages
) -> None:
    """A 135M model on one thread needs seconds to read these sources; 0.2 s is not enough.
    Each prompt starts with a new nonce, so that the server's prompt cache cannot answer it."""

    def fresh() -> Messages:
        first, *rest = director_messages
        nonce = {"role": first["role"], "content": f"Request {uuid.uuid4()}.\n{first['content']}"}
        return [nonce, *rest]

    llm = LLMClient(llamacpp, MODEL_NAME, timeout_s=0.2, max_tokens=8)
    started = time.monotonic()
    with pytest.raises(LLMTimeoutError) as caught:
        llm.complete(fresh())
    assert time.monotonic() - started < 10  # generous bound relative to the 0.2 s timeout
    assert caught.value.code == "llm_timeout"
    started = time.monotonic()
    with pytest.raises(LLMTimeoutError):
        list(llm.stream(fresh()))
    assert time.monotonic() - started < 10


def test_openai_clients_reach_llamacpp_through_v1(
    llamacpp: str, workspace: Path, sources: dict[str, Source]
) -> None:
    """The openai SDK pointed at qa serve's /v1, in front of llama.cpp: qa-generative plain and
    streamed, its answer contract in the ``qa`` field."""
    import openai

    messages: list[dict[str, str]] = [{"role": "user", "content": DIRECTOR}]
    with (
        qa_serve(workspace, llamacpp, "serve-v1.log") as url,
        openai.OpenAI(base_url=url + "/v1", api_key="unused", timeout=300) as client,
    ):
        completion = client.chat.completions.create(model="qa-generative", messages=messages)
        chunks = list(
            client.chat.completions.create(model="qa-generative", messages=messages, stream=True)
        )
    assert completion.model_extra is not None
    answer = Answer.model_validate(completion.model_extra["qa"])
    check_answer(answer, sources)
    assert (completion.choices[0].message.content or "").startswith(answer.answer)
    carried = [c.model_extra["qa"] for c in chunks if c.model_extra and c.model_extra.get("qa")]
    assert len(carried) == 1
    check_answer(Answer.model_validate(carried[0]), sources)
    streamed = "".join(ch.delta.content or "" for c in chunks for ch in c.choices)
    assert streamed.strip()
    assert chunks[-1].choices[0].finish_reason == "stop"
