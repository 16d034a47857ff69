"""Distillation: a stronger reader's probabilities as soft targets for the one being trained.

The teacher is any reader folder (what ``python -m qa.training`` exports and
``QA_READER_MODEL`` takes), so a big model trained where compute allows can teach the small
one that ships. It scores every training pair once; the student then trains toward
``(1 - weight) * label + weight * teacher probability``. Keeping part of the pair's own label
stops a teacher's mistakes from becoming the student's (docs/performance.md: what it measured).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from qa.reader import MODEL_FILE, Reader, file_sha256
from qa.training.pairs import Pair


def pairs_fingerprint(pairs: Sequence[Pair]) -> str:
    """A digest of the pairs' text, so that cached teacher scores are never applied to others."""
    digest = hashlib.sha256()
    for pair in pairs:
        digest.update(pair.question.encode("utf-8") + b"\x00")
        digest.update(pair.sentence.encode("utf-8") + b"\x01")
    return digest.hexdigest()


def teacher_checksum(teacher: Reader) -> str:
    """The teacher model file's sha256: its reader.json may carry none (a hand-made folder)."""
    return teacher.manifest.sha256 or file_sha256(teacher.model_dir / MODEL_FILE)


def teacher_probabilities(
    pairs: Sequence[Pair],
    teacher: Reader,
    cache: Path | None = None,
    on_question: Callable[[int, int], None] | None = None,
) -> list[float]:
    """The teacher's probability that each pair's sentence answers its question.

    Pairs are scored grouped by question (one tokenizer call per question). With ``cache``,
    the scores are kept in that file with the teacher's checksum and the pairs' fingerprint,
    and read back instead of scored again when both match.
    """
    key = {"teacher": teacher_checksum(teacher), "pairs": pairs_fingerprint(pairs)}
    if cache is not None and cache.is_file():
        try:
            stored = json.loads(cache.read_text(encoding="utf-8"))
        except ValueError:  # a damaged cache is scored again, not trusted
            stored = {}
        if stored.get("key") == key and len(stored.get("probabilities", [])) == len(pairs):
            return [float(p) for p in stored["probabilities"]]
    by_question: dict[str, list[int]] = {}
    for index, pair in enumerate(pairs):
        by_question.setdefault(pair.question, []).append(index)
    probabilities = [0.0] * len(pairs)
    for done, (question, indices) in enumerate(by_question.items(), start=1):
        scores = teacher.score(question, [pairs[i].sentence for i in indices])
        for index, score in zip(indices, scores, strict=True):
            probabilities[index] = float(score)
        if on_question is not None:
            on_question(done, len(by_question))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        # Written beside, then moved into place: an interrupted write leaves no half file.
        partial = cache.with_name(cache.name + ".partial")
        partial.write_text(
            json.dumps({"key": key, "probabilities": probabilities}) + "\n", encoding="utf-8"
        )
        partial.replace(cache)
    return probabilities


def soft_targets(
    pairs: Sequence[Pair], probabilities: Sequence[float], weight: float
) -> list[float]:
    """Each pair's training target: its own label and the teacher's probability, blended."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"The teacher's weight must be between 0 and 1, not {weight}.")
    if len(probabilities) != len(pairs):
        raise ValueError(
            f"{len(probabilities)} teacher probabilities for {len(pairs)} pairs: score them again."
        )
    return [
        (1.0 - weight) * float(pair.label) + weight * float(probability)
        for pair, probability in zip(pairs, probabilities, strict=True)
    ]
