"""The index: three Chroma collections behind one small interface.

- ``<prefix>_chunks``: chunk text, lines and embedding, written and queried through llama-index's
  ``ChromaVectorStore``. The collection's metadata records the embedding model that built it.
- ``<prefix>_sentences``: the embedding of every sentence, read by id when answering.
- ``<prefix>_sources``: one record per indexed file (content hash, line and chunk counts, and
  whether its ingest completed), which makes ingest incremental and resumable.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qa.chunking import Chunk
from qa.config import Settings, split_chroma_url
from qa.errors import (
    CorruptIndexError,
    EmbeddingModelMismatchError,
    QAError,
    StoreUnavailableError,
)

logger = logging.getLogger(__name__)

_FORMAT_VERSION = 1
_GET_PAGE = 5_000
#: Rows per add (below chromadb's max batch size, 5,461 on this version).
_WRITE_PAGE = 2_000


@dataclass(frozen=True)
class SourceRecord:
    path: str
    sha256: str
    line_count: int
    chunk_count: int
    complete: bool


@dataclass(frozen=True)
class SourceWrite:
    """One file's chunks with their vectors, to be written by ``IndexStore.write_sources``."""

    path: str
    sha256: str
    line_count: int
    chunks: Sequence[Chunk]
    #: One row per chunk.
    chunk_vectors: NDArray[np.float32]
    #: One row per sentence, chunk by chunk.
    sentence_vectors: NDArray[np.float32]


@dataclass(frozen=True)
class StoredSentence:
    id: str
    start_line: int
    end_line: int
    start_col: int
    end_col: int
    text: str
    #: Offsets of ``text`` in its chunk's text (a sentence can repeat inside one chunk).
    chunk_start: int
    chunk_end: int


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the index."""

    id: str
    source: str
    start_line: int
    end_line: int
    text: str
    sentences: tuple[StoredSentence, ...]


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """Whether ``exc`` or anything in its chain of causes is one of ``kinds``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kinds):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure to reach the server (timeouts included), not a bad reply."""
    import httpx

    return _caused_by(exc, (httpx.TransportError, ConnectionError, TimeoutError))


def _is_timeout(exc: BaseException) -> bool:
    import httpx

    return _caused_by(exc, (httpx.TimeoutException, TimeoutError))


def chunk_id(path: str, sha256: str, index: int) -> str:
    return f"{path}#{sha256[:12]}:{index}"


def _sentence_records(chunk: Chunk) -> str:
    return json.dumps(
        [
            [
                s.start_line,
                s.end_line,
                s.start_col,
                s.end_col,
                s.start - chunk.start,
                s.end - chunk.start,
            ]
            for s in chunk.sentences
        ]
    )


def _stored_chunk(cid: str, text: str, meta: dict[str, Any]) -> StoredChunk:
    sentences = tuple(
        StoredSentence(
            id=f"{cid}/{j}",
            start_line=sl,
            end_line=el,
            start_col=sc,
            end_col=ec,
            text=text[a:b],
            chunk_start=a,
            chunk_end=b,
        )
        for j, (sl, el, sc, ec, a, b) in enumerate(json.loads(str(meta["sentences"])))
    )
    return StoredChunk(
        id=cid,
        source=str(meta["source"]),
        start_line=int(meta["start_line"]),
        end_line=int(meta["end_line"]),
        text=text,
        sentences=sentences,
    )


def _stored_chunks(got: Any) -> list[StoredChunk]:
    """The chunks of a Chroma ``get`` that included documents and metadata."""
    return [
        _stored_chunk(cid, text, meta)
        for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
    ]


class IndexStore:
    """Reads and writes the index: an embedded Chroma folder, or a Chroma server.

    With ``chroma_url`` (QA_CHROMA_URL) the collections live on a Chroma server
    (``chroma run`` or a distributed deployment) reached with ``chromadb.HttpClient``, and
    ``index_dir`` is not used; otherwise they live in the folder ``index_dir``.
    """

    def __init__(
        self,
        index_dir: Path,
        prefix: str = "qa",
        chroma_url: str = "",
        chroma_timeout_s: float = 30.0,
    ) -> None:
        self.index_dir = index_dir
        self.chroma_url = chroma_url
        self.chroma_timeout_s = chroma_timeout_s
        self.location = chroma_url or str(index_dir)
        self.prefix = prefix
        with self._guard("open"):
            import chromadb
            import chromadb.config

            chroma_settings = chromadb.config.Settings(anonymized_telemetry=False)
            if chroma_url:
                self._client = self._http_client(chroma_settings)
            else:
                if index_dir.exists() and not index_dir.is_dir():
                    raise CorruptIndexError(
                        f"The index path '{index_dir}' is a file, not a folder.",
                        "Point QA_INDEX_DIR at a folder (it is created on first ingest).",
                    )
                self._client = chromadb.PersistentClient(
                    path=str(index_dir), settings=chroma_settings
                )
            self._chunks = self._collection("chunks")
            self._sentences = self._collection("sentences")
            self._sources = self._collection("sources")
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.vector_store = ChromaVectorStore(chroma_collection=self._chunks)

    def _http_client(self, chroma_settings: Any) -> Any:
        """A client of the Chroma server whose requests give up after ``chroma_timeout_s``.

        chromadb's HttpClient waits for ever (its httpx session has no timeout), so a server
        that hangs or a host that drops packets would hold a request, and a worker thread,
        for good. The client's first requests (identity, tenant, database) happen while it
        is built, before a timeout can be set on it: a heartbeat with the timeout goes first.
        """
        import chromadb
        import httpx

        timeout = httpx.Timeout(self.chroma_timeout_s)
        try:
            httpx.get(f"{self.chroma_url}/api/v2/heartbeat", timeout=timeout)
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        host, port, ssl = split_chroma_url(self.chroma_url)
        try:
            client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=chroma_settings)
        except ValueError as exc:  # chromadb's "Could not connect to a Chroma server"
            raise self._unavailable(exc) from exc
        session = getattr(getattr(client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            session.timeout = timeout
        else:  # another chromadb version; tests/qa/test_store.py notices
            logger.warning(
                "chromadb's HttpClient has no httpx session: QA_CHROMA_TIMEOUT_S cannot apply"
            )
        return client

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexStore:
        """The configured store: QA_CHROMA_URL's server when set, else QA_INDEX_DIR."""
        return cls(
            settings.index_dir,
            settings.collection_prefix,
            settings.chroma_url,
            settings.chroma_timeout_s,
        )

    @property
    def is_server(self) -> bool:
        return bool(self.chroma_url)

    def reopen(self) -> IndexStore:
        """A new store on the same index, that sees what another process (``qa ingest``)
        wrote since this one opened, and collections it recreated.

        A Chroma server serves every client the same data; an embedded client does not:
        chromadb keeps one client per folder per process, and that client does not see vector
        segments another process wrote after it opened them (its queries then fail). So the
        folder's client is dropped from chromadb's cache first, not stopped (queries in flight
        on it can finish).
        """
        if not self.is_server:
            from chromadb.api.shared_system_client import SharedSystemClient

            with SharedSystemClient._refcount_lock:
                SharedSystemClient._identifier_to_system.pop(self.location, None)
                SharedSystemClient._identifier_to_refcount.pop(self.location, None)
        return IndexStore(self.index_dir, self.prefix, self.chroma_url, self.chroma_timeout_s)

    def _unavailable(self, exc: BaseException) -> StoreUnavailableError:
        if _is_timeout(exc):
            return StoreUnavailableError(
                f"The Chroma server at {self.chroma_url} did not answer within "
                f"{self.chroma_timeout_s:g} s (QA_CHROMA_TIMEOUT_S).",
                "Check that it runs and is not overloaded (its log, its host), or raise "
                "QA_CHROMA_TIMEOUT_S. The service reconnects by itself once the server answers.",
            )
        return StoreUnavailableError(
            f"The Chroma server at {self.chroma_url} cannot be reached ({exc}).",
            "Start it (`chroma run --path DIR --host HOST --port PORT`) or fix QA_CHROMA_URL. "
            "The service reconnects by itself once the server answers.",
        )

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn Chroma's low-level failures into an error that says what to do."""
        try:
            yield
        except QAError:
            raise
        except Exception as exc:
            if self.is_server and _is_connection_error(exc):
                raise self._unavailable(exc) from exc
            if self.is_server:
                raise CorruptIndexError(
                    f"The index on the Chroma server at {self.chroma_url} could not be read "
                    f"({action}: {exc}).",
                    "Check the server's log. To build a new index beside this one, set another "
                    "QA_COLLECTION_PREFIX and run `qa ingest`.",
                ) from exc
            raise CorruptIndexError(
                f"The index at '{self.location}' could not be read ({action}: {exc}).",
                "It may be corrupt or written by another version. Run `qa ingest --rebuild` to "
                "move it aside (nothing is deleted) and build a new one.",
            ) from exc

    def _collection(self, name: str) -> Any:
        return self._client.get_or_create_collection(
            f"{self.prefix}_{name}",
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )

    # The embedding model that built the index.
    def embedding_model(self) -> str | None:
        with self._guard("read metadata"):
            meta = self._chunks.metadata or {}
        model = meta.get("embed_model")
        return str(model) if model else None

    def check_embedding_model(self, model_id: str) -> None:
        """Refuse to mix vectors of two models in one index."""
        built_with = self.embedding_model()
        if built_with and built_with != model_id:
            raise EmbeddingModelMismatchError(
                f"The index at '{self.location}' was built with the embedding model "
                f"'{built_with}', but '{model_id}' is configured.",
                "Configure the model the index was built with, or run `qa ingest --rebuild` "
                "to re-embed the corpus with the new one.",
            )

    def claim_embedding_model(self, model_id: str, dimension: int) -> None:
        self.check_embedding_model(model_id)
        if self.embedding_model() is None:
            with self._guard("write metadata"):
                self._chunks.modify(
                    metadata={
                        "embed_model": model_id,
                        "dimension": dimension,
                        "format": _FORMAT_VERSION,
                    }
                )

    # What changed.
    def generation(self) -> str:
        """A token that changes with every write to the index ("" before the first).

        One small read (the sources collection's metadata) however big the index: a service
        polls it to notice another process's ingest, where reading every source record cost
        0.4-0.7 s at 10,000 files.
        """
        with self._guard("read generation"):
            meta = self._client.get_collection(f"{self.prefix}_sources").metadata or {}
        return str(meta.get("generation", ""))

    def _new_generation(self) -> None:
        self._sources.modify(metadata={"generation": uuid.uuid4().hex})

    # Sources.
    def sources(self) -> dict[str, SourceRecord]:
        with self._guard("list sources"):
            got = self._sources.get(include=["metadatas"])
        records: dict[str, SourceRecord] = {}
        for sid, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
            records[sid] = SourceRecord(
                path=sid,
                sha256=str(meta["sha256"]),
                line_count=int(meta["line_count"]),
                chunk_count=int(meta["chunk_count"]),
                complete=bool(meta["complete"]),
            )
        return records

    def _put_sources(self, records: Sequence[SourceRecord]) -> None:
        if not records:
            return
        self._sources.upsert(
            ids=[r.path for r in records],
            embeddings=[[1.0] for _ in records],
            documents=[r.path for r in records],
            metadatas=[
                {
                    "sha256": r.sha256,
                    "line_count": r.line_count,
                    "chunk_count": r.chunk_count,
                    "complete": r.complete,
                }
                for r in records
            ],
        )

    def delete_source(self, path: str) -> None:
        """Remove a file's chunks, sentences and record (also a half-written one)."""
        self.delete_sources([path])

    def delete_sources(self, paths: Sequence[str]) -> None:
        """Remove files' chunks, sentences and records; the record goes last, so a delete
        killed half-way leaves the record, and the next ingest deletes the rest."""
        if not paths:
            return
        with self._guard("delete"):
            self._new_generation()
            self._delete_rows(paths)
            self._new_generation()

    def _delete_rows(self, paths: Sequence[str]) -> None:
        where: Any = {"source": paths[0]} if len(paths) == 1 else {"source": {"$in": list(paths)}}
        self._chunks.delete(where=where)
        self._sentences.delete(where=where)
        self._sources.delete(ids=list(paths))

    def write_source(
        self,
        path: str,
        sha256: str,
        line_count: int,
        chunks: Sequence[Chunk],
        chunk_vectors: NDArray[np.float32],
        sentence_vectors: NDArray[np.float32],
    ) -> None:
        """Replace one file's chunks (see ``write_sources``)."""
        self.write_sources(
            [SourceWrite(path, sha256, line_count, chunks, chunk_vectors, sentence_vectors)]
        )

    def write_sources(
        self, writes: Sequence[SourceWrite], fresh: Collection[str] = frozenset()
    ) -> None:
        """Replace several files' chunks and sentences, in a few calls to Chroma.

        ``fresh``: paths that have no record in the index, so nothing of them to delete (no
        row is ever written for a file without a record); their delete calls are skipped.

        Order makes a killed write safe to redo: the old rows go, each file's record is written
        with ``complete=False``, then chunks and sentences, and only then the records are marked
        complete. An ingest killed anywhere in between leaves records that are not complete
        (or, for a changed file, the old record with the old hash); the next ingest deletes
        everything of those files by their ``source`` and writes them again. No chunk or
        sentence is ever written for a file without a record, so none can be orphaned.
        """
        from llama_index.core.schema import BaseNode, NodeRelationship, RelatedNodeInfo, TextNode

        if not writes:
            return
        records = [
            SourceRecord(w.path, w.sha256, w.line_count, len(w.chunks), complete=False)
            for w in writes
        ]
        with self._guard("write"):
            self._new_generation()
            stale = [w.path for w in writes if w.path not in fresh]
            if stale:
                self._delete_rows(stale)
            self._put_sources(records)
            nodes: list[BaseNode] = []
            sentence_ids: list[str] = []
            sentence_texts: list[str] = []
            sentence_sources: list[str] = []
            sentence_vectors: list[NDArray[np.float32]] = []
            for w in writes:
                for chunk, vector in zip(w.chunks, w.chunk_vectors, strict=True):
                    cid = chunk_id(w.path, w.sha256, chunk.index)
                    node = TextNode(
                        id_=cid,
                        text=chunk.text,
                        embedding=[float(x) for x in vector],
                        metadata={
                            "source": w.path,
                            "start_line": chunk.start_line,
                            "end_line": chunk.end_line,
                            "chunk_index": chunk.index,
                            "sentences": _sentence_records(chunk),
                        },
                        excluded_embed_metadata_keys=["sentences"],
                        excluded_llm_metadata_keys=["sentences"],
                    )
                    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=w.path)
                    nodes.append(node)
                sentences = [
                    (f"{chunk_id(w.path, w.sha256, c.index)}/{j}", s)
                    for c in w.chunks
                    for j, s in enumerate(c.sentences)
                ]
                for (sid, sentence), vector in zip(sentences, w.sentence_vectors, strict=True):
                    sentence_ids.append(sid)
                    sentence_texts.append(sentence.text)
                    sentence_sources.append(w.path)
                    sentence_vectors.append(vector)
            if nodes:
                self.vector_store.add(nodes)
            for start in range(0, len(sentence_ids), _WRITE_PAGE):
                end = start + _WRITE_PAGE
                self._sentences.add(
                    ids=sentence_ids[start:end],
                    embeddings=np.vstack(sentence_vectors[start:end]),
                    documents=sentence_texts[start:end],
                    metadatas=[{"source": path} for path in sentence_sources[start:end]],
                )
            self._put_sources([dataclasses.replace(r, complete=True) for r in records])
            self._new_generation()

    # Reading for retrieval.
    def count_chunks(self) -> int:
        with self._guard("count"):
            return int(self._chunks.count())

    def query_chunk_ids(self, vector: NDArray[np.float32], k: int) -> list[tuple[str, float]]:
        """Ids of the k chunks nearest to ``vector``, with cosine similarity.

        Ids only: the retriever holds every chunk's text already (for BM25), and reading
        documents and metadata back doubled the cost of the query when it was measured.
        """
        return self._nearest(self._chunks, "query", vector, k)

    def chunks(self, ids: Sequence[str]) -> list[StoredChunk]:
        """The chunks with these ids that are in the index, in no particular order."""
        with self._guard("read"):
            got = self._chunks.get(ids=list(ids), include=["documents", "metadatas"])
        return _stored_chunks(got)

    def all_chunks(self) -> list[StoredChunk]:
        """Every chunk (for the lexical index), read page by page."""
        chunks: list[StoredChunk] = []
        with self._guard("read"):
            offset = 0
            while True:
                got = self._chunks.get(
                    include=["documents", "metadatas"], limit=_GET_PAGE, offset=offset
                )
                chunks.extend(_stored_chunks(got))
                if len(got["ids"]) < _GET_PAGE:
                    break
                offset += _GET_PAGE
        return chunks

    def query_sentences(self, vector: NDArray[np.float32], k: int) -> list[tuple[str, float]]:
        """Ids of the k sentences nearest to ``vector``, with cosine similarity."""
        return self._nearest(self._sentences, "query sentences", vector, k)

    def _nearest(
        self, collection: Any, action: str, vector: NDArray[np.float32], k: int
    ) -> list[tuple[str, float]]:
        with self._guard(action):
            got = collection.query(query_embeddings=[vector], n_results=k, include=["distances"])
        ids, distances = got["ids"][0], got["distances"][0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def sentence_vectors(self, ids: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        with self._guard("read sentences"):
            got = self._sentences.get(ids=list(ids), include=["embeddings"])
        return {
            sid: np.asarray(vec, dtype=np.float32)
            for sid, vec in zip(got["ids"], got["embeddings"], strict=True)
        }
