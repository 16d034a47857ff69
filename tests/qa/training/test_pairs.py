"""Training pairs: which sentence of a SQuAD paragraph is a positive, which are negatives, and
that held-out articles never reach the training data."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from qa.training.pairs import build_pairs, detokenise, squad2_pairs, squad_questions
from qa.training.splits import CALIBRATION_ARTICLES, HELD_OUT, TEST_ARTICLES

PARAGRAPH = "The mill was built in 1820. Its owner was Ann Lee. It burned down in 1901."


def squad(tmp_path: Path, titles: list[str]) -> Path:
    def qas(title: str) -> list[dict[str, Any]]:
        return [
            {"id": f"{title}-1", "question": "Who owned the mill?",
             "answers": [{"text": "Ann Lee", "answer_start": PARAGRAPH.index("Ann Lee")}]},
            {"id": f"{title}-2", "question": "Who rebuilt the mill?", "answers": [],
             "is_impossible": True,
             "plausible_answers": [{"text": "Ann Lee", "answer_start": PARAGRAPH.index("Ann")}]},
        ]  # fmt: skip

    data = {
        "data": [
            {"title": t, "paragraphs": [{"context": f"{PARAGRAPH} ({t})", "qas": qas(t)}]}
            for t in titles
        ]
    }
    path = tmp_path / "squad2-dev-half-13.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_answer_sentence_is_the_positive_and_the_plausible_one_the_hardest_negative(
    tmp_path: Path,
) -> None:
    questions = squad_questions(squad(tmp_path, ["Mill"]))
    owner, rebuilt = questions
    assert owner.answer_sentences == frozenset({1}) and owner.answers == ("Ann Lee",)
    assert rebuilt.answer_sentences == frozenset() and rebuilt.plausible_sentence == 1
    pairs = squad2_pairs(questions, random.Random(0))
    positives = [p for p in pairs if p.label == 1]
    assert [(p.question, p.sentence) for p in positives] == [
        ("Who owned the mill?", "Its owner was Ann Lee.")
    ]
    plausible = [p for p in pairs if p.origin == "squad2-plausible"]
    assert [(p.question, p.sentence, p.label) for p in plausible] == [
        ("Who rebuilt the mill?", "Its owner was Ann Lee.", 0)
    ]


def test_held_out_articles_never_reach_the_training_pairs(tmp_path: Path) -> None:
    path = squad(tmp_path, ["Mill", *HELD_OUT])
    pairs = build_pairs(path.parent, HELD_OUT, sources=["squad2"], seed=1, caps={})
    assert pairs.train
    for pair in pairs.train:
        assert not any(f"({title})" in pair.sentence for title in HELD_OUT)
    assert any("(Mill)" in pair.sentence for pair in pairs.train)


def test_the_splits_do_not_overlap() -> None:
    assert not set(TEST_ARTICLES) & set(CALIBRATION_ARTICLES)
    assert set(HELD_OUT) == set(TEST_ARTICLES) | set(CALIBRATION_ARTICLES)


def test_tokenised_text_reads_as_prose() -> None:
    assert detokenise("the cat 's bowl -lrb- blue -rrb- , he said .") == (
        "the cat's bowl (blue), he said."
    )
    assert detokenise("it does n't matter") == "it doesn't matter"


@given(st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=12))
def test_plain_words_survive_detokenising(tokens: list[str]) -> None:
    text = " ".join(tokens)
    assert detokenise(text) == text
