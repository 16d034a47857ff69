"""reader.json: what export writes and what a later calibration keeps."""

from __future__ import annotations

import json
from pathlib import Path

from qa.reader import MANIFEST_FILE, MODEL_FILE, ReaderManifest, file_sha256
from qa.training.export import write_manifest


def test_the_context_setting_survives_a_new_calibration(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_bytes(b"a model")
    write_manifest(tmp_path, 128, calibration=None, context="previous", separator="</s>")
    write_manifest(tmp_path, 128, calibration={"threshold": 0.3})
    manifest = ReaderManifest.read(tmp_path / MANIFEST_FILE)
    assert (manifest.context, manifest.separator) == ("previous", "</s>")
    assert manifest.calibration == {"threshold": 0.3}
    assert manifest.sha256 == file_sha256(tmp_path / MODEL_FILE)


def test_a_model_that_reads_sentences_alone_says_nothing_of_context(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_bytes(b"a model")
    write_manifest(tmp_path, 128, calibration=None, context="none", separator="[SEP]")
    data = json.loads((tmp_path / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert "context" not in data and "separator" not in data
    assert ReaderManifest.read(tmp_path / MANIFEST_FILE).context == "none"
