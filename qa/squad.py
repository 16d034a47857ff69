"""SQuAD-format data as a corpus and a gold set, so ``qa eval --squad`` can score any of it.

Each article becomes one document, ``<title>.txt``, one paragraph a line with a blank line
between paragraphs (so the chunker sees each as a paragraph of its own). Each question becomes
a gold question (``qa.evaluation.GoldQuestion``): its accepted answers are the SQuAD answer
texts, its evidence is the line of its paragraph, and a SQuAD 2.0 question marked
``is_impossible`` (or with no answer) is one the sources do not answer.

Example::

    >>> corpus = write_corpus(Path("dev-v2.0.json"), Path("/tmp/corpus"), ["Normans"])
    >>> corpus.files, len(corpus.questions)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.evaluation import GoldQuestion


class SquadFormatError(ValueError):
    """The file is not SQuAD-format JSON (``{"data": [{"title", "paragraphs": [...]}]}``)."""


def read_articles(path: Path) -> list[dict[str, Any]]:
    """The articles of a SQuAD-format file, checked enough to say clearly what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SquadFormatError(f"'{path}' could not be read as JSON: {exc}") from exc
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise SquadFormatError(f"'{path}' has no 'data' list of articles.")
    for number, article in enumerate(articles, start=1):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise SquadFormatError(f"'{path}': article {number} has no 'paragraphs' list.")
    return articles


def file_name(title: str) -> str:
    """A safe file name for an article title ("Steam engine/Part" -> "Steam_engine_Part.txt")."""
    return (re.sub(r"[^\w.-]+", "_", title).strip("._") or "article") + ".txt"


@dataclass(frozen=True)
class SquadCorpus:
    """What ``write_corpus`` wrote: the folder, its files, and the gold questions over them."""

    folder: Path
    files: tuple[str, ...]
    questions: tuple[GoldQuestion, ...]


def _paragraph_text(context: str) -> str:
    # A paragraph must stay on one line, as one paragraph, for its line to be its evidence.
    return re.sub(r"\s+", " ", context).strip()


def write_corpus(
    squad_file: Path, folder: Path, articles: Iterable[str] | None = None
) -> SquadCorpus:
    """Write the chosen articles (all when None) of ``squad_file`` into ``folder`` and return
    their questions as a gold set. An unknown article title is an error that lists the known."""
    all_articles = read_articles(squad_file)
    titles = [str(a.get("title", f"article-{i}")) for i, a in enumerate(all_articles, 1)]
    wanted: Sequence[str] = list(articles) if articles is not None else titles
    unknown = [t for t in wanted if t not in titles]
    if unknown:
        raise SquadFormatError(
            f"No article titled {', '.join(repr(t) for t in unknown)} in '{squad_file}'. "
            f"Its articles: {', '.join(titles)}."
        )
    folder.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    questions: list[GoldQuestion] = []
    for title, article in zip(titles, all_articles, strict=True):
        if title not in wanted:
            continue
        name = file_name(title)
        lines: list[str] = []
        for paragraph in article["paragraphs"]:
            line = len(lines) + 1
            lines += [_paragraph_text(str(paragraph.get("context", ""))), ""]
            for number, qa in enumerate(paragraph.get("qas", [])):
                answers = list(
                    dict.fromkeys(
                        a["text"].strip()
                        for a in qa.get("answers", [])
                        if str(a.get("text", "")).strip()
                    )
                )
                answerable = bool(answers) and not qa.get("is_impossible", False)
                questions.append(
                    GoldQuestion(
                        id=str(qa.get("id") or f"{name}:{line}:{number}"),
                        question=str(qa["question"]).strip(),
                        answers=[answers] if answerable else [],
                        evidence=[f"{name}:{line}"] if answerable else [],
                        answerable=answerable,
                        category=title if answerable else "unanswerable",
                    )
                )
        (folder / name).write_text("\n".join(lines), encoding="utf-8")
        files.append(name)
    return SquadCorpus(folder, tuple(files), tuple(questions))


def suite_settings(settings: Settings, corpus: SquadCorpus, scratch: Path) -> Settings:
    """``settings`` pointed at ``corpus`` and an embedded index of its own under ``scratch``:
    scoring a SQuAD set never touches the user's index or Chroma server."""
    return settings.model_copy(
        update={"corpus_dir": corpus.folder, "index_dir": scratch / "index", "chroma_url": ""}
    )
