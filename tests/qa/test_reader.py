"""The reader model: it loads from the package (or QA_READER_MODEL), checks its checksum, says
clearly what is wrong with a folder it cannot load, and reads a question and a sentence together."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.errors import ConfigError
from qa.load import answering
from qa.reader import (
    DEFAULT_MODEL_DIR,
    MANIFEST_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    Reader,
    file_sha256,
)


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader.load(threads=1)


def copy_model(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in (MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE):
        shutil.copy(DEFAULT_MODEL_DIR / name, target / name)
    return target


def test_the_shipped_model_matches_its_checksum_and_is_calibrated() -> None:
    manifest = json.loads((DEFAULT_MODEL_DIR / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["sha256"] == file_sha256(DEFAULT_MODEL_DIR / MODEL_FILE)
    assert {"weights", "bias", "threshold"} <= set(manifest["calibration"])
    assert (DEFAULT_MODEL_DIR / MODEL_FILE).stat().st_size < 30 * 1024 * 1024


def test_it_reads_the_question_with_the_sentence(reader: Reader) -> None:
    sentences = [
        "The lighthouse keeper lived alone on the island for years.",
        "The lighthouse was built by Tomas Varga in 1871.",
        "Storms often closed the harbour in winter.",
    ]
    who = reader.score("Who built the lighthouse?", sentences)
    assert who.shape == (3,) and ((who >= 0) & (who <= 1)).all()
    assert int(np.argmax(who)) == 1


def test_scores_do_not_depend_on_the_batch(reader: Reader) -> None:
    one = reader.logits("Who built it?", ["It was built by Ann Lee."])
    many = reader.logits("Who built it?", ["It was built by Ann Lee.", "A long " * 40 + "tail."])
    assert abs(float(one[0]) - float(many[0])) < 1e-3  # padding does not leak into the score


def test_no_sentences_is_no_scores(reader: Reader) -> None:
    assert reader.score("Who?", []).shape == (0,)


def test_a_folder_without_the_files_names_them(tmp_path: Path) -> None:
    missing = re.escape("lacks model.onnx, tokenizer.json, reader.json")
    with pytest.raises(ConfigError, match=missing) as error:
        Reader.load(tmp_path)
    assert "QA_READER_MODEL" in (error.value.hint or "")


def test_a_damaged_model_fails_its_checksum(tmp_path: Path) -> None:
    folder = copy_model(tmp_path / "model")
    with (folder / MODEL_FILE).open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(ConfigError, match="does not match the checksum"):
        Reader.load(folder)


def test_a_file_that_is_no_model_says_it_could_not_be_loaded(tmp_path: Path) -> None:
    folder = copy_model(tmp_path / "model")
    (folder / MODEL_FILE).write_bytes(b"not an onnx model")
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["sha256"] = file_sha256(folder / MODEL_FILE)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ConfigError, match="could not be loaded"):
        Reader.load(folder)


def test_another_model_folder_is_used_as_it_is(tmp_path: Path) -> None:
    """QA_READER_MODEL: a folder of the same shape; its own reader.json is its calibration."""
    folder = copy_model(tmp_path / "model")
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["calibration"] = {"weights": {"logit": 2.0}, "bias": -1.0, "threshold": 0.7}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    other = Reader.load(folder)
    assert other.calibration["threshold"] == 0.7
    assert other.model_dir == folder


@pytest.mark.parametrize("length", [1, 200, 2_000])
def test_a_question_of_any_length_is_read(reader: Reader, length: int) -> None:
    question = ("why " * length)[: max(4, length)]
    scores = reader.score(question, ["Short.", "A longer sentence about why " * 30])
    assert scores.shape == (2,) and np.isfinite(scores).all()


class _CountingSession:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.runs = 0

    def run(self, *args: Any) -> Any:
        self.runs += 1
        return self.inner.run(*args)


def test_threads_follow_the_load_with_the_same_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    auto = Reader.load(threads=0)
    wide, narrow = _CountingSession(auto._session), _CountingSession(auto._narrow)
    assert auto._narrow is not auto._session  # a one-thread session for busy times
    monkeypatch.setattr(auto, "_session", wide)
    monkeypatch.setattr(auto, "_narrow", narrow)
    sentences = ["It was built by Ann Lee.", "Storms closed the harbour."]
    alone = auto.logits("Who built it?", sentences)
    assert (wide.runs, narrow.runs) == (2, 0)
    with answering(), answering():  # two questions being answered at once
        together = auto.logits("Who built it?", sentences)
    assert (wide.runs, narrow.runs) == (2, 2)
    assert np.allclose(alone, together, atol=1e-4)
