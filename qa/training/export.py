"""Exporting a fine-tuned cross-encoder to the folder ``qa.reader`` loads: int8 ONNX,
``tokenizer.json`` and ``reader.json`` (max length, checksum, calibration)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from qa.reader import MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE, file_sha256


def export_onnx(checkpoint: Path, out_dir: Path, max_length: int) -> Path:
    """Write ``out_dir/model.onnx`` (int8 weights) and its tokenizer from a saved checkpoint.

    The graph is traced with eager attention on a padded batch: traced on a batch without
    padding, the fused attention path drops the attention mask from the graph, and a sentence's
    score would then change with the length of the others in its batch.
    """
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model: Any = AutoModelForSequenceClassification.from_pretrained(
        checkpoint, attn_implementation="eager"
    )
    model.eval()
    tokenizer: Any = AutoTokenizer.from_pretrained(checkpoint)
    sample = tokenizer(
        ["what is it?", "who wrote the long book about the old house?"],
        ["it is a sample sentence.", "the book was written by somebody " * 6],
        return_tensors="pt",
        padding=True,
        truncation="only_second",
        max_length=max_length,
    )
    # BERT-style tokenizers give token_type_ids; MPNet's do not, and its model takes none.
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        fp32 = Path(work) / "model-fp32.onnx"
        torch.onnx.export(
            model,
            tuple(sample[n] for n in names),
            str(fp32),
            input_names=names,
            output_names=["logits"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names} | {"logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        _check_padding(fp32, model, tokenizer, onnxruntime)
        quantize_dynamic(str(fp32), str(out_dir / MODEL_FILE), weight_type=QuantType.QInt8)
    shutil.copy(checkpoint / TOKENIZER_FILE, out_dir / TOKENIZER_FILE)
    write_manifest(out_dir, max_length, calibration=None)
    return out_dir / MODEL_FILE


def _check_padding(fp32: Path, model: Any, tokenizer: Any, onnxruntime: Any) -> None:
    """The exported graph gives a pair the same logit alone and padded in a batch, and the same
    as torch: else the export is wrong and must not ship."""
    import torch

    session = onnxruntime.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
    questions = ["who built it?", "who built it?"]
    sentences = ["it was built by ann lee.", "a much longer sentence " * 8]
    batch = tokenizer(questions, sentences, return_tensors="np", padding=True)
    alone = tokenizer(questions[:1], sentences[:1], return_tensors="np")
    padded = session.run(None, {k: batch[k] for k in batch})[0].reshape(-1)
    single = session.run(None, {k: alone[k] for k in alone})[0].reshape(-1)
    with torch.no_grad():
        expected = model(**tokenizer(questions, sentences, return_tensors="pt", padding=True))
    reference = expected.logits.reshape(-1).numpy()
    if abs(padded[0] - single[0]) > 1e-3 or abs(padded - reference).max() > 1e-3:
        raise RuntimeError(
            f"The ONNX export disagrees with itself or with torch (padded {padded}, alone "
            f"{single}, torch {reference}): the attention mask was lost in the trace."
        )


def write_manifest(
    out_dir: Path, max_length: int, calibration: dict[str, Any] | None
) -> dict[str, Any]:
    """(Re)write ``reader.json``, keeping an existing calibration unless one is given."""
    path = out_dir / MANIFEST_FILE
    old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data = {
        "max_length": max_length,
        "sha256": file_sha256(out_dir / MODEL_FILE),
        "calibration": calibration if calibration is not None else old.get("calibration", {}),
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data
