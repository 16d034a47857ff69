"""The soundness of a question set in the eval format, shared by eval/ and the calibration set."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from qa.evaluation import GoldQuestion, matches, normalise


def assert_sound(
    questions: Sequence[GoldQuestion],
    lines: Mapping[str, Sequence[str]],
    categories: Collection[str],
) -> None:
    """Unique ids, known categories; an unanswerable question has no answers or evidence; each
    evidence line exists and states an accepted answer, and together they state every group."""
    assert len({q.id for q in questions}) == len(questions), "ids must be unique"
    for q in questions:
        assert q.category in categories, q.id
        if not q.answerable:
            assert q.answers == [] and q.evidence == [], q.id
            continue
        assert q.answers and q.evidence, q.id
        texts = []
        for source, number in q.evidence_lines():
            assert source in lines and 1 <= number <= len(lines[source]), (
                f"{q.id}: {source}:{number}"
            )
            text = lines[source][number - 1]
            assert any(normalise(a) in normalise(text) for g in q.answers for a in g), (
                f"{q.id}: {source}:{number} supports none of {q.answers}"
            )
            texts.append(text)
        assert matches(" ".join(texts), q.answers), q.id
