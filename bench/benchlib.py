"""What the benchmarks share: the question list, percentiles, progress on stderr."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.engine import Engine
    from qa.reader import Reader

QUESTIONS_FILE = Path(__file__).resolve().parent / "questions.txt"
REPO_ROOT = Path(__file__).resolve().parents[1]


def log(message: str) -> None:
    """Progress on stderr, so that stdout holds only the figures."""
    print(message, file=sys.stderr, flush=True)


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (the same definition as numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def load_questions(path: Path = QUESTIONS_FILE) -> list[str]:
    """The benchmark questions: one a line, blank lines and ``#`` comments skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def reader_inputs(
    engine: Engine, questions: Sequence[str]
) -> tuple[Reader | None, dict[str, list[str]]]:
    """The extractive answerer's reader and, per question, the sentences it reads."""
    from qa.answerers.reading import ReadingAnswerer

    answerer = engine.answerers.get("extractive")
    if not isinstance(answerer, ReadingAnswerer):
        return None, {q: [] for q in questions}
    texts: dict[str, list[str]] = {}
    for question in questions:
        evidence, _ = engine.retrieve(question)
        texts[question] = [c.sentence.text for c in answerer.candidates(evidence)]
    return answerer.reader, texts


def cli_module(code: Path) -> str:
    """The ``qa`` command's module in a checkout: ``service.cli``, or ``qa.cli`` for commits
    before the command moved to the front ends."""
    return "service.cli" if (code / "service" / "cli.py").exists() else "qa.cli"


@contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """The code of commit ``ref`` in a temporary git worktree, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="qa-baseline-")) / "tree"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--quiet", str(folder), ref],
        cwd=REPO_ROOT,
        check=True,
    )
    try:
        yield folder
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(folder)], cwd=REPO_ROOT, check=False
        )
        shutil.rmtree(folder.parent, ignore_errors=True)
