"""Distillation: the teacher's probabilities, scored once per pair and cached, blended into
the labels the student trains toward."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.reader import DEFAULT_MODEL_DIR, Reader
from qa.training.distill import soft_targets, teacher_checksum, teacher_probabilities
from qa.training.pairs import Pair

PAIRS = [
    Pair("who built the mill?", "The mill was built by Ann Lee in 1802.", 1, "t"),
    Pair("when did the river flood?", "The river flooded in the spring of 1950.", 1, "t"),
    Pair("who built the mill?", "Grain came by barge from the north.", 0, "t"),
    Pair("when did the river flood?", "Ann Lee sold the mill to her cousin.", 0, "t"),
]


@pytest.fixture(scope="module")
def teacher() -> Reader:
    return Reader.load(DEFAULT_MODEL_DIR)


def test_each_pair_gets_the_teachers_own_score_in_the_pairs_order(teacher: Reader) -> None:
    probabilities = teacher_probabilities(PAIRS, teacher)
    for pair, probability in zip(PAIRS, probabilities, strict=True):
        [alone] = teacher.score(pair.question, [pair.sentence])
        assert probability == pytest.approx(float(alone), abs=1e-6)
    # A reader that reads: each question's answer outscores the other question's answer.
    assert probabilities[0] > probabilities[2] and probabilities[1] > probabilities[3]


def test_scores_are_cached_for_the_same_teacher_and_pairs_only(
    teacher: Reader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "teacher.json"
    first = teacher_probabilities(PAIRS, teacher, cache)
    calls: list[str] = []
    real_score = Reader.score

    def counting(self: Reader, question: str, sentences: Any) -> Any:
        calls.append(question)
        return real_score(self, question, sentences)

    monkeypatch.setattr(Reader, "score", counting)
    assert teacher_probabilities(PAIRS, teacher, cache) == first
    assert calls == []
    # Other pairs are scored again, never given the cached scores.
    changed = [*PAIRS[:3], Pair(PAIRS[3].question, "Another sentence entirely.", 0, "t")]
    again = teacher_probabilities(changed, teacher, cache)
    assert sorted(set(calls)) == sorted({p.question for p in PAIRS})
    assert again[:3] == pytest.approx(first[:3], abs=1e-6)


@given(
    labels=st.lists(st.integers(0, 1), min_size=1, max_size=20),
    weight=st.floats(0.0, 1.0),
    data=st.data(),
)
def test_soft_targets_blend_label_and_teacher(labels: list[int], weight: float, data: Any) -> None:
    probabilities = data.draw(
        st.lists(st.floats(0.0, 1.0), min_size=len(labels), max_size=len(labels))
    )
    pairs = [Pair("q", "s", label, "t") for label in labels]
    targets = soft_targets(pairs, probabilities, weight)
    for label, probability, target in zip(labels, probabilities, targets, strict=True):
        assert 0.0 <= target <= 1.0
        assert target == pytest.approx((1 - weight) * label + weight * probability)
    assert soft_targets(pairs, probabilities, 0.0) == [float(x) for x in labels]
    assert soft_targets(pairs, probabilities, 1.0) == pytest.approx(probabilities)


def test_a_bad_weight_or_a_count_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        soft_targets(PAIRS, [0.5] * 4, 1.5)
    with pytest.raises(ValueError, match="score them again"):
        soft_targets(PAIRS, [0.5] * 3, 0.5)


def test_the_command_refuses_a_teacher_that_is_not_a_reader_before_reading_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qa.training.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["--data", str(tmp_path), "--teacher", str(tmp_path / "nothing")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "error: --teacher:" in err and "lacks model.onnx" in err and "hint:" in err
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path), "--teacher-weight", "2"])
    assert "between 0 and 1" in capsys.readouterr().err


def test_a_damaged_cache_is_scored_again_and_a_teacher_without_checksum_keyed_by_its_file(
    teacher: Reader, tmp_path: Path
) -> None:
    cache = tmp_path / "teacher.json"
    cache.write_text('{"key": {"teacher"')  # cut short by an interrupted run
    scored = teacher_probabilities(PAIRS, teacher, cache)
    assert teacher_probabilities(PAIRS, teacher, cache) == scored
    assert not (tmp_path / "teacher.json.partial").exists()
    folder = tmp_path / "plain"
    folder.mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        (folder / name).write_bytes((DEFAULT_MODEL_DIR / name).read_bytes())
    (folder / "reader.json").write_text('{"max_length": 128}')
    assert teacher_checksum(Reader(folder)) == teacher_checksum(teacher)
