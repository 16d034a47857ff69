"""``python -m qa.training``: build pairs, fine-tune, export int8 ONNX, validate, calibrate,
measure the out-of-domain suite, write the model card. Training's checkpoint lands in ``--work``
and is not trained again when the command is run again; an interrupted training resumes from
its last saved state (every 10 minutes); ``--fresh`` starts over.

Example::

    python -m qa.training --data ../shared/data --out qa/assets/reader
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.progress import progress_for
from qa.training.calibrate import NATURAL_SET
from qa.training.pairs import DEFAULT_SOURCES
from qa.training.splits import CALIBRATION_ARTICLES, HELD_OUT, TEST_ARTICLES
from qa.training.train import RECIPE_FILE, TrainConfig, finished_recipe

if TYPE_CHECKING:
    from qa.reader import Reader
    from qa.training.pairs import Pair


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _load_teacher(folder: Path) -> Reader:
    from qa.errors import ConfigError
    from qa.reader import Reader

    try:
        return Reader.load(folder)
    except ConfigError as error:
        print(f"error: --teacher: {error.message}\nhint: {error.hint}", file=sys.stderr)
        raise SystemExit(2) from None


def _teacher_targets(
    pairs: Sequence[Pair], teacher: Reader, weight: float, work: Path
) -> list[float]:
    """The training labels blended with the teacher's probabilities (scored once, cached)."""
    from qa.training.distill import soft_targets, teacher_probabilities

    bar = progress_for()
    started = [0.0]

    def on_question(done: int, total: int) -> None:
        if done == 1:
            bar.start(total, "Teacher scoring the pairs")
            started[0] = time.monotonic()
        bar.advance()
        if done % 2000 == 0 or done == total:
            rate = done / max(1e-9, time.monotonic() - started[0])
            _log(f"teacher: {done}/{total} questions ({rate:.1f}/s)")

    try:
        probabilities = teacher_probabilities(
            pairs, teacher, work / "teacher-probabilities.json", on_question
        )
    finally:
        bar.stop()
    return soft_targets(pairs, probabilities, weight)


def checkpoint_recipe(checkpoint: Path) -> Path:
    """The file that says what a finished checkpoint was trained with: inside it, or beside it
    in the work folder for one saved before checkpoints kept their recipe."""
    if finished_recipe(checkpoint) is None:
        return checkpoint.parent / "recipe.json"
    return checkpoint / RECIPE_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.training", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--work", type=Path, default=Path("build/reader"))
    parser.add_argument("--out", type=Path, default=Path("qa/assets/reader"))
    parser.add_argument("--base", default=TrainConfig.base)
    parser.add_argument("--epochs", type=float, default=TrainConfig.epochs)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--lr", type=float, default=TrainConfig.learning_rate)
    parser.add_argument("--max-length", type=int, default=TrainConfig.max_length)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument(
        "--sources", default=",".join(DEFAULT_SOURCES), help="comma-separated data sets"
    )
    parser.add_argument(
        "--natural",
        type=Path,
        default=NATURAL_SET,
        help="the natural-question calibration set (a corpus/ folder and questions-*.jsonl)",
    )
    parser.add_argument(
        "--calibrate-on",
        default="squad",
        choices=["squad", "natural", "squad,natural"],
        metavar="SETS",
        help="the sets the answerer is calibrated on: squad (the default), natural or "
        "squad,natural; a set left out is measured with the result (docs/performance.md: what "
        "each choice does)",
    )
    parser.add_argument(
        "--teacher",
        type=Path,
        help="a stronger reader folder (model.onnx, tokenizer.json, reader.json) whose "
        "probabilities are blended into the training labels: distillation",
    )
    parser.add_argument(
        "--teacher-weight",
        type=float,
        default=0.5,
        help="the teacher's share of each training label, 0 to 1 (default 0.5)",
    )
    parser.add_argument("--fresh", action="store_true", help="ignore earlier stages' output")
    parser.add_argument(
        "--until",
        choices=["pairs", "train", "export", "validate", "calibrate", "card"],
        default="card",
    )
    args = parser.parse_args(argv)
    if not 0.0 <= args.teacher_weight <= 1.0:
        parser.error(f"--teacher-weight must be between 0 and 1, not {args.teacher_weight}")
    # Checked before the data is read: a wrong teacher fails in a second, not after pairs.
    teacher = _load_teacher(args.teacher) if args.teacher is not None else None
    if not (args.data / "squad2-dev-half-13.json").is_file():
        print(
            f"error: no training data in {args.data} (squad2-dev-half-13.json missing).\n"
            "hint: pass --data with the folder described in shared/data/README.md.",
            file=sys.stderr,
        )
        return 2
    if args.fresh and args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True, exist_ok=True)
    config = TrainConfig(
        base=args.base,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        max_length=args.max_length,
        seed=args.seed,
    )
    from qa.training.pairs import build_pairs, squad_questions

    sources = [s for s in args.sources.split(",") if s]
    pairs = build_pairs(args.data, HELD_OUT, sources, seed=args.seed)
    _log(f"pairs: {len(pairs.train)} ({json.dumps(pairs.counts)})")
    (args.work / "pairs.json").write_text(json.dumps(pairs.counts, indent=2) + "\n")
    if args.until == "pairs":
        return 0

    checkpoint = args.work / "checkpoint"
    # What the checkpoint was trained with: a resumed run must not reuse one made otherwise.
    recipe: dict[str, Any] = {"config": dataclasses.asdict(config), "pairs": pairs.counts}
    if teacher is not None:
        from qa.training.distill import teacher_checksum

        recipe["teacher"] = {"sha256": teacher_checksum(teacher), "weight": args.teacher_weight}
    recipe_file = checkpoint / RECIPE_FILE
    if (checkpoint / "config.json").is_file():
        recipe_file = checkpoint_recipe(checkpoint)
        earlier = json.loads(recipe_file.read_text()) if recipe_file.is_file() else None
        if earlier != recipe:
            print(
                f"error: {checkpoint} was trained with other settings or data.\n"
                "hint: add --fresh to train again, or pass another --work folder.",
                file=sys.stderr,
            )
            return 2
    else:
        from qa.training.train import train

        bar = progress_for()
        last = [time.monotonic(), 0.0]  # when and at which step the rate was last logged

        def on_step(step: int, total: int, loss: float) -> None:
            if last[1] == 0.0:  # the first step of this run (a resumed run starts later)
                bar.start(total, "Training the reader")
                if step > 1:
                    _log(f"resuming an interrupted run at step {step}/{total}")
                    bar.advance(step - 1)
                last[0], last[1] = time.monotonic(), step  # the rate leaves out loading
            bar.advance()
            if step % 50 == 0 or step == total:
                rate = (step - last[1]) / max(1e-9, time.monotonic() - last[0])
                last[0], last[1] = time.monotonic(), step
                _log(f"step {step}/{total} loss {loss:.4f} ({rate:.2f} steps/s)")

        targets = None
        if teacher is not None:
            targets = _teacher_targets(pairs.train, teacher, args.teacher_weight, args.work)
        from qa.training.train import PartialRunMismatch

        try:
            train(pairs.train, config, checkpoint, on_step, targets, json.dumps(recipe))
        except PartialRunMismatch as error:
            print(
                f"error: {error}\nhint: add --fresh to train again, or pass another --work folder.",
                file=sys.stderr,
            )
            return 2
        finally:
            bar.stop()
    _log(f"checkpoint: {checkpoint}")
    if args.until == "train":
        return 0

    from qa.training.export import export_onnx

    export_onnx(checkpoint, args.out, config.max_length)
    # What made the model travels with it: a student's card names its teacher's recipe.
    made_with = json.loads(recipe_file.read_text(encoding="utf-8"))
    (args.out / "recipe.json").write_text(json.dumps(made_with, indent=2) + "\n")
    _log(f"exported: {args.out}")
    if args.until == "export":
        return 0

    from qa.reader import Reader
    from qa.training.validate import validate

    squad2 = args.data / "squad2-dev-half-13.json"
    reader = Reader.load(args.out)
    figures = {
        "calibration_articles": validate(
            reader, squad_questions(squad2, CALIBRATION_ARTICLES)
        ).as_dict(),
    }
    _log(f"validation: {json.dumps(figures)}")
    (args.work / "validation.json").write_text(json.dumps(figures, indent=2) + "\n")
    if args.until == "validate":
        return 0

    from qa.training.calibrate import CalibrationSet, calibrate, split_sets, squad_set

    available = {
        "squad": squad_set(squad2, CALIBRATION_ARTICLES, args.work),
        "natural": CalibrationSet.natural(args.natural),
    }
    calibrated, measured = split_sets(available, args.calibrate_on.split(","))
    calibration = calibrate(reader, calibrated, args.work, measured=measured)
    _log(f"calibration: {json.dumps(calibration)}")
    if args.until == "calibrate":
        return 0

    from qa.training.validate import evaluate_squad_suite

    # Reported, never tuned on: the same figures `qa eval --squad` prints.
    figures["test_articles"] = evaluate_squad_suite(args.out, squad2, TEST_ARTICLES, args.work)
    _log(f"out-of-domain suite: {json.dumps(figures['test_articles'])}")
    (args.work / "validation.json").write_text(json.dumps(figures, indent=2) + "\n")
    if args.until == "test":
        return 0

    from qa.training.card import write_card

    write_card(args, config, pairs.counts, figures, calibration, TEST_ARTICLES)
    _log(f"model card: {args.out / 'MODEL_CARD.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
