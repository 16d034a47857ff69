"""The reader: a small cross-encoder that scores how well a sentence answers a question.

It reads the question and the sentence together (unlike the embedding, which compares two
vectors made apart), so it can tell "when did X happen" from a sentence that only mentions X.
The project trains it (``python -m qa.training``) and ships it int8-quantized in
``qa/assets/reader``: onnxruntime and tokenizers run it, no network and no torch needed.
``QA_READER_MODEL`` points at another folder of the same shape (``model.onnx``,
``tokenizer.json``, ``reader.json``).

Example::

    >>> reader = Reader.load()
    >>> reader.score("Who wrote it?", ["It was written by Ann Lee.", "It rained."])
    array([0.97, 0.01], dtype=float32)
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qa import load
from qa.errors import ConfigError

#: The model that ships with the package.
DEFAULT_MODEL_DIR = Path(__file__).parent / "assets" / "reader"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "reader.json"


@dataclass(frozen=True)
class ReaderManifest:
    """``reader.json``: what the model expects and how far to trust it."""

    max_length: int
    #: sha256 of model.onnx; a mismatch means a broken or swapped file.
    sha256: str | None
    #: The answerer's learned combination and refusal threshold (``qa.answerers.reading``).
    calibration: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> ReaderManifest:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            max_length=int(data.get("max_length", 128)),
            sha256=data.get("sha256"),
            calibration=dict(data.get("calibration") or {}),
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sigmoid(x: NDArray[np.float32]) -> NDArray[np.float32]:
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


_LOADED: dict[tuple[Path, int, tuple[int, ...]], Reader] = {}
_LOADED_LOCK = threading.Lock()


class Reader:
    """Scores (question, sentence) pairs: the probability that the sentence answers."""

    def __init__(self, model_dir: Path, threads: int = 0) -> None:
        self.model_dir = model_dir
        missing = [
            name
            for name in (MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE)
            if not (model_dir / name).is_file()
        ]
        if missing:
            raise ConfigError(
                f"The reader model folder '{model_dir}' lacks {', '.join(missing)}.",
                "Point QA_READER_MODEL at a folder with model.onnx, tokenizer.json and "
                "reader.json (python -m qa.training writes one), or unset it to use the "
                "model that ships with qa.",
            )
        self.manifest = ReaderManifest.read(model_dir / MANIFEST_FILE)
        model_path = model_dir / MODEL_FILE
        if self.manifest.sha256 and file_sha256(model_path) != self.manifest.sha256:
            raise ConfigError(
                f"The reader model '{model_path}' does not match the checksum in reader.json: "
                "the file is damaged or was replaced.",
                "Reinstall qa (or retrain with python -m qa.training), or fix QA_READER_MODEL.",
            )
        import onnxruntime
        from tokenizers import Tokenizer

        def session(intra_op_threads: int) -> Any:
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = intra_op_threads
            options.inter_op_num_threads = 1
            # Spin while a run is under way, not after it: threads left spinning took the
            # cores from the query embedding of the next question (measured: embedding 25 ms
            # -> 11-14 ms on 2 cores, the whole ask 48-58 ms -> 31-37 ms).
            options.add_session_config_entry("session.force_spinning_stop", "1")
            return onnxruntime.InferenceSession(
                str(model_path), options, providers=["CPUExecutionProvider"]
            )

        try:
            # threads=0 follows the load: every core for a question answered alone, one each
            # for questions answered together (qa.load), where a shared pool of threads cut
            # the throughput by a third (docs/performance.md).
            self._session = session(threads)
            self._narrow = self._session if threads else session(1)
            self._tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
            # The same vocabulary, untruncated: for measuring a question on its own.
            self._plain = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        except Exception as exc:  # onnxruntime and tokenizers raise their own types
            raise ConfigError(
                f"The reader model in '{model_dir}' could not be loaded: {exc}",
                "Check that it is an ONNX cross-encoder with inputs input_ids, attention_mask "
                "(and token_type_ids) and one logit out.",
            ) from exc
        self._tokenizer.enable_truncation(
            max_length=self.manifest.max_length, strategy="only_second"
        )
        self._tokenizer.no_padding()
        self._plain.no_truncation()
        self._plain.no_padding()
        self._inputs = {i.name for i in self._session.get_inputs()}
        # onnxruntime sessions are thread-safe; a tokenizer's settings are shared state.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: Path | None = None, threads: int = 0) -> Reader:
        """The reader in ``model_dir`` (default: the one that ships), loaded once per process:
        every engine of a process shares it (a session is thread-safe and holds ~25 MB)."""
        folder = (model_dir or DEFAULT_MODEL_DIR).resolve()
        try:
            stamp = tuple((folder / n).stat().st_mtime_ns for n in (MODEL_FILE, MANIFEST_FILE))
        except OSError:
            return cls(folder, threads)  # missing files: the constructor says which
        key = (folder, threads, stamp)
        with _LOADED_LOCK:
            reader = _LOADED.get(key)
            if reader is None:
                reader = _LOADED[key] = cls(folder, threads)
            return reader

    @property
    def calibration(self) -> dict[str, Any]:
        return self.manifest.calibration

    def logits(self, question: str, sentences: Sequence[str]) -> NDArray[np.float32]:
        """The raw logit of each (question, sentence) pair.

        Each pair runs on its own: the int8 model quantizes its activations with one range per
        run, so in a batch a sentence's score would shift with its neighbours and their padding
        (by up to ~0.25 logits, measured). Alone, a pair always scores the same.
        """
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            question = self._shortened(question)
            encoded = self._tokenizer.encode_batch([(question, s) for s in sentences])
        chosen = self._session if load.active() <= 1 else self._narrow
        out = np.empty(len(sentences), dtype=np.float32)
        for index, pair in enumerate(encoded):
            feed: dict[str, NDArray[np.int64]] = {
                "input_ids": np.array([pair.ids], dtype=np.int64),
                "attention_mask": np.array([pair.attention_mask], dtype=np.int64),
            }
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.array([pair.type_ids], dtype=np.int64)
            (logit,) = chosen.run(None, feed)
            out[index] = float(np.asarray(logit).reshape(-1)[0])
        return out

    def _shortened(self, question: str) -> str:
        """The question cut to at most half the model's tokens: only the sentence is truncated
        to fit (as in training), which fails when the question alone fills the window."""
        limit = self.manifest.max_length // 2
        encoding = self._plain.encode(question, add_special_tokens=False)
        if len(encoding.ids) <= limit:
            return question
        return question[: encoding.offsets[limit - 1][1]]

    def score(self, question: str, sentences: Sequence[str]) -> NDArray[np.float32]:
        """The probability that each sentence answers the question."""
        return _sigmoid(self.logits(question, sentences))
