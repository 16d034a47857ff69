"""Question/sentence pairs for the reader, built from public question-answering data.

A pair is labelled 1 when the sentence answers the question, 0 when it does not. Where each
kind of pair comes from (``../shared/data/README.md`` has the sources and licences):

- SQuAD 2.0 (the training articles only, see ``qa.training.splits``): the sentence holding the
  answer is a positive; the other sentences of its paragraph, and a few from elsewhere in the
  article, are negatives. An unanswerable question gives only negatives, the hardest being the
  sentence of its ``plausible_answers`` span: on topic, the right kind of fact, not an answer.
- SQuAD 1.1 sentences: positives, and as negatives the answer sentences of nearby questions
  (the same article, so on topic).
- QNLI: labelled pairs, minus rows from held-out articles.
- SelQA: every sentence of a section labelled for a question.

Sentences of SQuAD paragraphs are cut by ``qa.chunking``, the splitter the product indexes with,
so the reader learns on the same units it is later asked to score.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.chunking import split_sentences
from qa.loading import Source
from qa.squad import read_articles


@dataclass(frozen=True)
class Pair:
    question: str
    sentence: str
    label: int
    #: Which data set and rule made it ("squad2", "squad2-plausible", "selqa", ...).
    origin: str


@dataclass(frozen=True)
class SquadQuestion:
    """One SQuAD question with the sentences of its paragraph."""

    article: str
    question: str
    #: Sentences of the paragraph, in order.
    sentences: tuple[str, ...]
    #: Indices into ``sentences`` that hold a gold answer (empty when unanswerable).
    answer_sentences: frozenset[int]
    #: Index of the sentence holding the plausible (wrong) answer of an unanswerable question.
    plausible_sentence: int | None
    answers: tuple[str, ...]


def _sentence_at(starts: list[tuple[int, int]], offset: int) -> int | None:
    for index, (start, end) in enumerate(starts):
        if start <= offset < end:
            return index
    return None


def read_squad(path: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(title, paragraphs) of each article of a SQuAD-format file."""
    for article in read_articles(path):
        yield article["title"], article["paragraphs"]


def squad_questions(path: Path, articles: Iterable[str] | None = None) -> list[SquadQuestion]:
    """Every question of the chosen articles (all when None), its paragraph cut into sentences."""
    wanted = set(articles) if articles is not None else None
    out: list[SquadQuestion] = []
    for title, paragraphs in read_squad(path):
        if wanted is not None and title not in wanted:
            continue
        for paragraph in paragraphs:
            context = paragraph["context"]
            source = Source.from_text("p.txt", context)
            sentences = split_sentences(source)
            # Offsets into the paragraph: Source.text differs from context only in line breaks.
            bounds = [(s.start, s.end) for s in sentences]
            texts = tuple(s.text for s in sentences)
            for qa in paragraph["qas"]:
                answers = [a for a in qa.get("answers", []) if a.get("text")]
                hits = {_sentence_at(bounds, a["answer_start"]) for a in answers}
                plausible = qa.get("plausible_answers") or []
                plausible_at = (
                    _sentence_at(bounds, plausible[0]["answer_start"]) if plausible else None
                )
                out.append(
                    SquadQuestion(
                        article=title,
                        question=qa["question"].strip(),
                        sentences=texts,
                        answer_sentences=frozenset(h for h in hits if h is not None),
                        plausible_sentence=plausible_at,
                        answers=tuple(dict.fromkeys(a["text"] for a in answers)),
                    )
                )
    return out


def squad2_pairs(
    questions: list[SquadQuestion], rng: random.Random, article_negatives: int = 2
) -> list[Pair]:
    """Positives and negatives from SQuAD 2.0 questions (see the module docstring)."""
    by_article: dict[str, list[str]] = {}
    for q in questions:
        by_article.setdefault(q.article, []).extend(q.sentences)
    pairs: list[Pair] = []
    for q in questions:
        if not q.answer_sentences and q.plausible_sentence is None and q.answers:
            continue  # an answer that no sentence holds: the splitter and the span disagree
        for index, sentence in enumerate(q.sentences):
            if index in q.answer_sentences:
                pairs.append(Pair(q.question, sentence, 1, "squad2"))
            elif index == q.plausible_sentence:
                pairs.append(Pair(q.question, sentence, 0, "squad2-plausible"))
            else:
                pairs.append(Pair(q.question, sentence, 0, "squad2-paragraph"))
        own = set(q.sentences)
        pool = [s for s in by_article[q.article] if s not in own]
        for sentence in rng.sample(pool, min(article_negatives, len(pool))):
            pairs.append(Pair(q.question, sentence, 0, "squad2-article"))
    return pairs


_LRB = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}
_SPACE_BEFORE = re.compile(r" ([,.;:!?%)\]}]|'s\b|n't\b|'re\b|'ve\b|'ll\b|'d\b|'m\b)")
_SPACE_AFTER = re.compile(r"([(\[{$]) ")


def detokenise(text: str) -> str:
    """Space-tokenised text ("the cat , 's -lrb- 1 -rrb-") back to ordinary prose."""
    for token, char in _LRB.items():
        text = text.replace(token, char)
    text = text.replace("``", '"').replace("''", '"').replace(" -- ", " - ")
    text = _SPACE_BEFORE.sub(r"\1", text)
    return _SPACE_AFTER.sub(r"\1", text).strip()


def _tsv_rows(path: Path, header: bool) -> Iterator[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        if header:
            next(reader, None)
        yield from reader


def squad1_pairs(
    path: Path, rng: random.Random, negatives: int = 2, window: int = 30
) -> list[Pair]:
    """SQuAD 1.1 answer sentences as positives; the answer sentences of questions near it in
    the file (the file keeps an article's questions together) as on-topic negatives."""
    rows = [
        (detokenise(r[0]), detokenise(r[1])) for r in _tsv_rows(path, header=True) if len(r) > 2
    ]
    pairs: list[Pair] = []
    for index, (question, sentence) in enumerate(rows):
        pairs.append(Pair(question, sentence, 1, "squad1"))
        lo, hi = max(0, index - window), min(len(rows), index + window + 1)
        # Sorted: a set's order changes with the hash seed, and the sample must not.
        others = sorted({rows[j][1] for j in range(lo, hi) if rows[j][1] != sentence})
        for other in rng.sample(others, min(negatives, len(others))):
            pairs.append(Pair(question, other, 0, "squad1-nearby"))
    return pairs


def qnli_pairs(path: Path, excluded_sentences: set[str]) -> list[Pair]:
    """QNLI rows, minus those whose sentence comes from a held-out article."""
    pairs: list[Pair] = []
    for row in _tsv_rows(path, header=True):
        if len(row) < 4:
            continue
        _, question, sentence, label = row[:4]
        if sentence.strip() in excluded_sentences:
            continue
        pairs.append(Pair(question.strip(), sentence.strip(), int(label == "entailment"), "qnli"))
    return pairs


def selqa_pairs(paths: Iterable[Path]) -> list[Pair]:
    pairs: list[Pair] = []
    for path in paths:
        for row in _tsv_rows(path, header=False):
            if len(row) < 3 or row[2] not in ("0", "1"):
                continue
            pairs.append(Pair(detokenise(row[0]), detokenise(row[1]), int(row[2]), "selqa"))
    return pairs


def held_out_sentences(path: Path, held_out: Iterable[str]) -> set[str]:
    """Every sentence of the held-out articles, to keep them out of other data sets."""
    texts: set[str] = set()
    for q in squad_questions(path, held_out):
        texts.update(q.sentences)
    # QNLI cuts sentences its own way: also drop any row whose sentence is inside a paragraph.
    return texts


def in_held_out_paragraphs(path: Path, held_out: Iterable[str]) -> list[str]:
    wanted = set(held_out)
    return [
        p["context"]
        for title, paragraphs in read_squad(path)
        if title in wanted
        for p in paragraphs
    ]


@dataclass(frozen=True)
class PairSet:
    train: list[Pair]
    counts: dict[str, int]


#: The data sets a training run uses unless told otherwise (``--sources``).
DEFAULT_SOURCES: tuple[str, ...] = ("squad2", "squad1", "qnli", "selqa")

#: At most this many pairs of each ``origin:label``: a mix that trains in about half an hour on
#: 2 cores (~1.4 steps of 32 a second). Every SQuAD 2.0 pair is kept: its questions are the
#: only ones written to look answerable when they are not, which is what teaches refusals.
DEFAULT_CAPS: dict[str, int] = {
    "squad2-article:0": 2_500,
    "squad1:1": 6_000,
    "squad1-nearby:0": 6_000,
    "selqa:0": 6_000,
}
#: Pairs seen this many times an epoch: the answer sentences and the plausible-answer
#: sentences of SQuAD 2.0 are few (about 1,700 each) and carry the answerability signal.
DEFAULT_REPEATS: dict[str, int] = {"squad2:1": 3, "squad2-plausible:0": 3}


def _capped(pairs: list[Pair], caps: dict[str, int], rng: random.Random) -> list[Pair]:
    groups: dict[str, list[Pair]] = {}
    for pair in pairs:
        groups.setdefault(f"{pair.origin}:{pair.label}", []).append(pair)
    kept: list[Pair] = []
    for key in sorted(groups):
        group = groups[key]
        cap = caps.get(key)
        kept += group if cap is None or cap >= len(group) else rng.sample(group, cap)
    return kept


def build_pairs(
    data_dir: Path,
    held_out: Iterable[str],
    sources: Iterable[str] = DEFAULT_SOURCES,
    seed: int = 13,
    caps: dict[str, int] | None = None,
    repeats: dict[str, int] | None = None,
) -> PairSet:
    """The training pairs from ``data_dir`` (shuffled), none from a held-out article."""
    rng = random.Random(seed)
    held = list(held_out)
    squad2 = data_dir / "squad2-dev-half-13.json"
    chosen = set(sources)
    pairs: list[Pair] = []
    if "squad2" in chosen:
        titles = [title for title, _ in read_squad(squad2) if title not in set(held)]
        pairs += squad2_pairs(squad_questions(squad2, titles), rng)
    if "squad1" in chosen:
        pairs += squad1_pairs(data_dir / "squad1-train-sentences.tsv", rng)
    if "qnli" in chosen:
        paragraphs = in_held_out_paragraphs(squad2, held)
        sentences = held_out_sentences(squad2, held)
        rows = qnli_pairs(data_dir / "qnli-dev.tsv", sentences)
        pairs += [p for p in rows if not any(p.sentence in text for text in paragraphs)]
    if "selqa" in chosen:
        pairs += selqa_pairs([data_dir / "selqa-dev.tsv", data_dir / "selqa-test.tsv"])
    pairs = _capped(pairs, DEFAULT_CAPS if caps is None else caps, rng)
    times = DEFAULT_REPEATS if repeats is None else repeats
    pairs = [p for p in pairs for _ in range(times.get(f"{p.origin}:{p.label}", 1))]
    rng.shuffle(pairs)
    counts: dict[str, int] = {}
    for pair in pairs:
        key = f"{pair.origin}:{pair.label}"
        counts[key] = counts.get(key, 0) + 1
    return PairSet(pairs, dict(sorted(counts.items())))
