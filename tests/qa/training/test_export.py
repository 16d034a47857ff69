"""The export: a trained checkpoint becomes the folder qa.reader loads, scoring as torch does."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.errors import ConfigError
from qa.reader import MODEL_FILE, Reader
from qa.training.export import export_onnx
from qa.training.train import TrainConfig, train
from tests.support.training import tiny_base, tiny_pairs

pytestmark = pytest.mark.training


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    base = tiny_base(folder / "base", dropout=0.0)
    # Enough steps for the tiny model to tell each question's answer from the others: 600
    # (300 failed for 1 of 16 random bases, 600 for none).
    config = TrainConfig(base=str(base), epochs=200, batch_size=3, learning_rate=3e-3, threads=1)
    return train(tiny_pairs(), config, folder / "checkpoint")


@pytest.fixture(scope="module")
def exported(checkpoint: Path) -> Path:
    out = checkpoint.parent / "reader"
    export_onnx(checkpoint, out, max_length=32)
    return out


def torch_logits(checkpoint: Path, question: str, sentences: list[str]) -> np.ndarray:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(checkpoint).eval()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    with torch.no_grad():
        return np.array(
            [float(model(**tokenizer(question, s, return_tensors="pt")).logits) for s in sentences]
        )


def test_the_exported_reader_loads_and_scores_as_the_trained_model_does(
    checkpoint: Path, exported: Path
) -> None:
    reader = Reader(exported)
    pairs = tiny_pairs()
    sentences = [p.sentence for p in pairs[:3]]
    for question in dict.fromkeys(p.question for p in pairs):
        answer = next(p.sentence for p in pairs if p.question == question and p.label)
        got = reader.logits(question, sentences)
        expected = torch_logits(checkpoint, question, sentences)
        assert sentences[int(np.argmax(expected))] == answer  # the model has learnt the pairs
        assert sentences[int(np.argmax(got))] == answer
        assert np.abs(got - expected).max() < 0.1 * np.ptp(expected), (got, expected)


def test_a_damaged_export_is_refused_by_its_checksum(exported: Path, tmp_path: Path) -> None:
    out = tmp_path / "reader"
    shutil.copytree(exported, out)
    with (out / MODEL_FILE).open("ab") as model:
        model.write(b"\0")
    with pytest.raises(ConfigError, match="checksum"):
        Reader(out)
