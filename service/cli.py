"""The ``qa`` command (ingest, ask, eval, serve, slack): a front end over ``qa.engine``,
beside the HTTP service and the Slack bot."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from qa.config import Settings, configure_offline_environment
from qa.errors import ConfigError, QAError
from qa.models import Answer, AnswerMode
from service.settings import ServiceSettings, load_settings

if TYPE_CHECKING:
    from qa.engine import Engine
    from qa.evaluation import GoldQuestion

app = typer.Typer(
    help="Answer questions from a folder of documents, citing file and line.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
T = TypeVar("T")


def _fail(error: QAError, as_json: bool) -> NoReturn:
    if as_json:
        payload = {"error": {"code": error.code, "message": error.message, "hint": error.hint}}
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(f"Error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"  {error.hint}", file=sys.stderr)
    usage = {"invalid_question", "invalid_request", "invalid_config"}
    raise typer.Exit(code=2 if error.code in usage else 1)


def _run(as_json: bool, action: Callable[[], T]) -> T:
    try:
        return action()
    except QAError as error:
        _fail(error, as_json)


def _settings(**overrides: object) -> ServiceSettings:
    configure_offline_environment()
    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def _move_aside(index_dir: Path) -> Path | None:
    """Keep an old index next to the new one instead of deleting it."""
    if not index_dir.exists():
        return None
    target = index_dir.with_name(f"{index_dir.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
    index_dir.rename(target)
    return target


def _print_answer(answer: Answer) -> None:
    print(answer.answer)
    _print_citations(answer)


def _print_citations(answer: Answer) -> None:
    if answer.mode == "extractive-fallback":
        print(
            "Note: the LLM did not answer (see the warning above); this is the extractive answer.",
            file=sys.stderr,
        )
    if answer.citations:
        heading = "Sources:" if answer.answered else "Closest passages:"
        print(f"\n{heading}")
        for c in answer.citations:
            lines = (
                f"{c.start_line}" if c.start_line == c.end_line else f"{c.start_line}-{c.end_line}"
            )
            print(f"  [{c.id}] {c.source}:{lines}")
            print(f"      {c.quote}")


@app.command()
def ingest(
    path: Annotated[
        Path | None, typer.Argument(help="Folder of documents (default: QA_CORPUS_DIR, seeds/).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON report, no progress bar.")
    ] = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Move the current index aside and build a new one.")
    ] = False,
) -> None:
    """Index the documents in PATH. Unchanged files are skipped; removed files are dropped."""
    from qa.progress import SilentProgress, progress_for

    def work() -> None:
        settings = _settings()
        progress = progress_for(quiet=as_json)
        if isinstance(progress, SilentProgress):
            # No bar (--json, CI, a job's log): progress lines on stderr instead, once a second.
            logging.getLogger("qa.ingest").setLevel(logging.INFO)
        if rebuild and settings.chroma_url:
            raise QAError(
                "--rebuild moves an embedded index folder aside; with QA_CHROMA_URL the index "
                "is on the Chroma server.",
                "Set another QA_COLLECTION_PREFIX and run `qa ingest` to build a new index "
                "beside the old one, then point the service at that prefix.",
            )
        moved = _move_aside(settings.index_dir) if rebuild else None
        from qa.indexer import Indexer

        # The indexer only: an ingest job needs no search stage (the engine's lexical index
        # covers every chunk, ~200 MB at 10,000 documents).
        indexer = Indexer.open(settings)
        report = indexer.ingest(path, progress)
        chunks_total = indexer.store.count_chunks()
        if as_json:
            data = report.to_dict() | {"chunks_total": chunks_total}
            data["previous_index"] = str(moved) if moved else None
            print(json.dumps(data, ensure_ascii=False))
            return
        if moved:
            print(f"Moved the previous index to {moved}")
        # Skipped files were already reported as warnings by the loader, as they happened.
        print(
            f"Indexed {report.corpus}: {report.counts_text()}; "
            f"{chunks_total} chunks in the index ({report.texts_embedded} texts embedded "
            f"in {report.seconds:.1f} s)."
        )

    _run(as_json, work)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the answer contract as JSON.")
    ] = False,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", min=1, max=50, help="Chunks to retrieve (default QA_TOP_K)."),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="extractive or generative (default: generative when QA_LLM_BASE_URL is set).",
        ),
    ] = None,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream",
            help="Print the answer as it is written, then the checked answer and its sources "
            "(with --json: one JSON object per line, the answer contract last).",
        ),
    ] = False,
) -> None:
    """Answer QUESTION with citations to file and line."""

    def work() -> Answer:
        from qa.engine import Engine, FinalAnswer
        from qa.errors import InvalidRequestError
        from qa.progress import progress_for
        from qa.questions import validate_question

        settings = _settings()
        validate_question(question, settings.max_question_chars)
        if mode not in (None, "extractive", "generative"):
            raise InvalidRequestError(
                f"Unknown mode '{mode}'.", "Use --mode extractive or --mode generative.", "mode"
            )
        engine = Engine.open(settings)
        if engine.chunk_count == 0 and settings.corpus_dir.is_dir():
            print(f"The index is empty: indexing {settings.corpus_dir} first.", file=sys.stderr)
            engine.ingest(settings.corpus_dir, progress_for(quiet=as_json))
        chosen: AnswerMode | None = mode  # type: ignore[assignment]
        if not stream:
            return engine.ask(question, top_k=top_k, mode=chosen)
        written: list[str] = []
        for event in engine.ask_stream(question, top_k=top_k, mode=chosen):
            if isinstance(event, FinalAnswer):
                return _end_stream(event.answer, "".join(written), as_json)
            written.append(event.text)
            if as_json:
                print(json.dumps({"event": "delta", "text": event.text}), flush=True)
            else:
                print(event.text, end="", flush=True)
        raise QAError("The answer stream ended without an answer.", "Retry without --stream.")

    answer = _run(as_json, work)
    if stream:
        return  # printed as it came
    if as_json:
        print(answer.model_dump_json())
    else:
        _print_answer(answer)


def _end_stream(answer: Answer, written: str, as_json: bool) -> Answer:
    """After the streamed draft: the checked answer, where it differs, and its sources."""
    if as_json:
        print(json.dumps({"event": "answer", "answer": answer.model_dump(mode="json")}))
        return answer
    print()
    if answer.answer.strip() != written.strip():
        # The draft had unsupported sentences or markers pointing at no source.
        print("\nChecked against the sources:")
        print(answer.answer)
    _print_citations(answer)
    return answer


@app.command("eval")
def evaluate(
    gold: Annotated[Path, typer.Option("--gold", help="Gold question set (JSON lines).")] = Path(
        "eval/gold.jsonl"
    ),
    squad: Annotated[
        Path | None,
        typer.Option(
            "--squad",
            help="Score a SQuAD-format file instead of --gold: its paragraphs become a corpus "
            "(one file per article, one paragraph a line) indexed in a temporary folder.",
        ),
    ] = None,
    articles: Annotated[
        list[str] | None,
        typer.Option(
            "--articles",
            help="With --squad: the article titles to use, comma-separated or repeated "
            "(default: every article).",
        ),
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir",
            help="With --squad: keep the suite's corpus and index in this folder instead of a "
            "temporary one, so that a later run reuses the index (only changed articles are "
            "embedded again).",
        ),
    ] = None,
    suite: Annotated[
        str | None,
        typer.Option(
            "--suite",
            help="The thresholds table to gate on (default: 'squad' with --squad, else the gold "
            "file's name without .jsonl).",
        ),
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="extractive or generative.")] = "extractive",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print all metrics as one JSON object.")
    ] = False,
    report_dir: Annotated[
        Path, typer.Option("--report", help="Folder for the markdown and JSON reports.")
    ] = Path("eval/reports"),
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="An earlier JSON report to compare with.")
    ] = None,
    thresholds_file: Annotated[
        Path, typer.Option("--thresholds", help="The gate's thresholds (TOML).")
    ] = Path("eval/thresholds.toml"),
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, max=50)] = None,
    refusal_curve: Annotated[
        bool,
        typer.Option(
            "--refusal-curve",
            help="Instead of gating: score the extractive answerer at every refusal threshold "
            "(QA_ANSWER_MIN_SCORE 0 to 0.99) and suggest one for these documents.",
        ),
    ] = False,
    max_false_refusal_rate: Annotated[
        float,
        typer.Option(
            "--max-false-refusal-rate",
            min=0.0,
            max=1.0,
            help="With --refusal-curve: the share of answerable questions the suggested "
            "threshold may refuse.",
        ),
    ] = 0.10,
) -> None:
    """Score answers and citations against a gold set; exit 1 when a metric misses its threshold.

    With --refusal-curve: score every refusal threshold and suggest a QA_ANSWER_MIN_SCORE.
    """
    from qa.evaluation import (
        UnknownSuiteError,
        load_gold,
        load_thresholds,
        render_markdown,
        run_eval,
        write_reports,
    )
    from qa.progress import progress_for

    def work() -> tuple[str, list[str], dict[str, object]]:
        import tempfile

        from qa.engine import Engine
        from qa.errors import InvalidRequestError

        if mode not in ("extractive", "generative"):
            raise InvalidRequestError(
                f"Unknown mode '{mode}'.", "Use extractive or generative.", "mode"
            )
        if articles and squad is None:
            raise InvalidRequestError(
                "--articles chooses articles of a SQuAD file.", "Pass --squad FILE too.", "articles"
            )
        if workdir is not None and squad is None:
            raise InvalidRequestError(
                "--workdir keeps a SQuAD suite's index.", "Pass --squad FILE too.", "workdir"
            )
        if refusal_curve and mode != "extractive":
            raise InvalidRequestError(
                "--refusal-curve measures the extractive answerer's refusal threshold.",
                "Leave out --mode generative (QA_LLM_MIN_SUPPORT sets generative mode's check).",
                "mode",
            )
        if refusal_curve and baseline is not None:
            raise InvalidRequestError(
                "--baseline compares gated eval reports, not refusal curves.",
                "Leave out --baseline or --refusal-curve.",
                "baseline",
            )
        data = squad if squad is not None else gold
        # A curve gates nothing: it needs no thresholds file.
        needed = [(data, "question set")]
        if not refusal_curve:
            needed.append((thresholds_file, "thresholds file"))
        for path, what in needed:
            if not path.is_file():
                raise QAError(f"The {what} '{path}' does not exist.", "Pass its path (see --help).")
        name = suite or ("squad" if squad is not None else gold.name.removesuffix(".jsonl"))
        thresholds = None
        if not refusal_curve:
            try:
                thresholds = load_thresholds(thresholds_file, name)
            except UnknownSuiteError as exc:
                raise QAError(str(exc), "Pass --suite with one of them, or add a table.") from exc
        settings: Settings = _settings()  # the library's settings are all that eval reads
        with tempfile.TemporaryDirectory(prefix="qa-eval-") as scratch:
            items: list[GoldQuestion]
            if squad is not None:
                folder = Path(scratch) if workdir is None else workdir
                settings, items = _squad_suite(settings, squad, articles, folder)
            else:
                items = load_gold(gold)
            engine = Engine.open(settings)
            indexed: dict[str, int] | None = None
            # A SQuAD suite's index may be kept (--workdir): bring it up to date every time.
            if (squad is not None or engine.chunk_count == 0) and settings.corpus_dir.is_dir():
                ingest = engine.ingest(settings.corpus_dir, progress_for(quiet=as_json))
                indexed = {**ingest.counts(), "texts_embedded": ingest.texts_embedded}
            k = top_k or settings.top_k
            bar = progress_for(quiet=as_json)
            bar.start(len(items), f"Evaluating {name}")
            if refusal_curve:
                try:
                    return _refusal_curve(
                        engine, items, k, name, report_dir, max_false_refusal_rate, bar.advance
                    )
                finally:
                    bar.stop()
            chosen: AnswerMode = mode  # type: ignore[assignment]
            try:
                report = run_eval(
                    items,
                    lambda q: engine.ask_with_evidence(q, top_k=k, mode=chosen),
                    chosen,
                    k,
                    on_progress=bar.advance,
                )
            finally:
                bar.stop()
        previous = json.loads(baseline.read_text(encoding="utf-8")) if baseline else None
        assert thresholds is not None  # loaded above whenever the run gates
        problems = report.gate(thresholds)
        markdown = render_markdown(report, previous, problems, suite=name)
        md_path, json_path = write_reports(report, report_dir, markdown, suite=name)
        summary: dict[str, object] = {"suite": name, **report.metrics}
        if indexed is not None:
            summary["ingest"] = indexed
        summary |= {
            "gate": "pass" if not problems else "fail",
            "gate_failures": problems,
            "report": str(json_path),
            "markdown": str(md_path),
        }
        return markdown, problems, summary

    markdown, problems, summary = _run(as_json, work)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(markdown)
    if problems:
        raise typer.Exit(code=1)


def _refusal_curve(
    engine: Engine,
    items: list[GoldQuestion],
    top_k: int,
    suite: str,
    report_dir: Path,
    max_false_refusal_rate: float,
    on_progress: Callable[[], None],
) -> tuple[str, list[str], dict[str, object]]:
    """``qa eval --refusal-curve``: the markdown, no gate failures, and the JSON summary; the
    curve is also written to ``report_dir``."""
    from qa.answerers.reading import ReadingAnswerer
    from qa.refusal_curve import measure

    answerer = engine.answerers["extractive"]
    if not isinstance(answerer, ReadingAnswerer):  # only a library caller can swap it
        raise QAError("The extractive answerer is not the reader: it has no refusal threshold.")
    result = measure(
        engine.pipeline, answerer, items, top_k, suite, max_false_refusal_rate, on_progress
    )
    summary: dict[str, object] = result.to_dict()
    markdown = result.markdown()
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path = report_dir / f"refusal-curve-{suite}.json"
    md_path = report_dir / f"refusal-curve-{suite}.md"
    json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    summary |= {"report": str(json_path), "markdown": str(md_path)}
    return markdown, [], summary


def _squad_suite(
    settings: Settings, squad: Path, articles: list[str] | None, folder: Path
) -> tuple[Settings, list[GoldQuestion]]:
    """Write the SQuAD articles as a corpus under ``folder``; settings that index it there."""
    from qa.squad import SquadFormatError, suite_settings, write_corpus

    titles = [t.strip() for item in articles or [] for t in item.split(",") if t.strip()]
    marker = folder / ".qa-eval-workdir"
    hint = "Pass a new or empty folder to --workdir: qa eval keeps a corpus and an index there."
    if folder.exists() and not folder.is_dir():
        raise QAError(f"'{folder}' is a file, not a folder.", hint)
    if folder.is_dir() and any(folder.iterdir()) and not marker.is_file():
        raise QAError(f"The folder '{folder}' holds files that qa eval did not write.", hint)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError as exc:
        raise QAError(f"The folder '{folder}' could not be used: {exc.strerror}.", hint) from exc
    # Written afresh each time: an article left out since the last run leaves the corpus, and
    # the ingest then drops it; an unchanged article keeps its vectors (same text, same digest).
    shutil.rmtree(folder / "corpus", ignore_errors=True)
    try:
        corpus = write_corpus(squad, folder / "corpus", titles or None)
    except SquadFormatError as exc:
        raise QAError(str(exc), "Pass a SQuAD-format JSON file (see eval/README.md).") from exc
    return suite_settings(settings, corpus, folder), list(corpus.questions)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (QA_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port (QA_PORT, 8000).", min=1, max=65_535)
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Worker processes (QA_WORKERS, 1).", min=1, max=64),
    ] = None,
) -> None:
    """Serve the HTTP API (POST /ask, /docs, /healthz, /readyz, /metrics, /sources)."""

    def work() -> None:
        from service.server import serve as run_server

        run_server(_settings(host=host, port=port, workers=workers))

    _run(False, work)


@app.command()
def slack() -> None:
    """Run the Slack bot over Socket Mode (SLACK_BOT_TOKEN and SLACK_APP_TOKEN); see docs/slack.md.

    For the Events API over HTTP instead, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET and run
    `qa serve`: the bot answers at /slack/events.
    """

    def work() -> None:
        import logging.config

        from service.logs import logging_config
        from service.slack.socket_mode import run_socket_mode

        settings = _settings()
        logging.config.dictConfig(logging_config(settings.log_level))
        run_socket_mode(settings, on_connected=lambda line: print(line, flush=True))

    _run(False, work)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        app()
    except ConfigError as error:  # raised before a command's own handler is in place
        _fail(error, "--json" in sys.argv)


if __name__ == "__main__":
    main()
