"""qa's parts as llama-index components, for use in a llama-index user's own pipeline.

- ``ReaderReranker``: the trained reader (``qa.reader``) as a node postprocessor. It reranks
  the nodes of any llama-index retriever by their best sentence's probability of answering.
- ``CitedQueryEngine``: the whole engine as a query engine. Its ``Response`` is
  ``Engine.ask``'s answer unchanged, its source nodes the cited lines.

Neither reads nor sets llama-index's global ``Settings``.

Example::

    >>> from llama_index.core.query_engine import RetrieverQueryEngine
    >>> reranker = ReaderReranker(top_n=3)
    >>> query_engine = RetrieverQueryEngine.from_args(
    ...     retriever, llm=llm, node_postprocessors=[reranker]
    ... )
    >>> response = CitedQueryEngine(Engine.open()).query("When did the bridge open?")
    >>> response.response, response.metadata["citations"][0]["start_line"]
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode
from pydantic import Field, PrivateAttr

from qa import load
from qa.chunking import split_sentences
from qa.engine import Engine
from qa.loading import Source
from qa.models import Answer, AnswerMode, Citation
from qa.reader import Reader

__all__ = ["CitedQueryEngine", "ReaderReranker", "citation_node", "node_sentences", "to_response"]


def node_sentences(text: str) -> list[str]:
    """The sentences of a node's text, split as qa splits the documents it indexes."""
    if not text.strip():
        return []
    return [sentence.text for sentence in split_sentences(Source.from_text("node", text))]


class ReaderReranker(BaseNodePostprocessor):
    """Reranks nodes by the reader: a node scores its best sentence's probability (0-1) of
    answering the query. Works on nodes from any retriever; only their text is read."""

    top_n: int = Field(default=5, ge=1, description="Number of nodes to return, best first.")
    model: str = Field(default="", description="The reader model's folder.")
    _reader: Reader = PrivateAttr()

    def __init__(
        self,
        reader: Reader | None = None,
        top_n: int = 5,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        """``reader``: a loaded reader (default: ``Reader.load()``, the one that ships)."""
        reader = reader or Reader.load()
        super().__init__(
            top_n=top_n,
            model=str(reader.model_dir),
            callback_manager=callback_manager or CallbackManager([]),
        )
        self._reader = reader

    @property
    def reader(self) -> Reader:
        return self._reader

    @classmethod
    def class_name(cls) -> str:
        return "ReaderReranker"

    def _postprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        if query_bundle is None or not query_bundle.query_str.strip():
            raise ValueError(
                "ReaderReranker needs the query: pass query_bundle or query_str to "
                "postprocess_nodes (a query engine passes it)."
            )
        if not nodes:
            return []
        query = query_bundle.query_str
        with self.callback_manager.event(
            CBEventType.RERANKING,
            payload={
                EventPayload.NODES: nodes,
                EventPayload.MODEL_NAME: self.model,
                EventPayload.QUERY_STR: query,
                EventPayload.TOP_K: self.top_n,
            },
        ) as event:
            scores = self.score_nodes(query, nodes)
            rescored = [
                NodeWithScore(node=item.node, score=score)
                for item, score in zip(nodes, scores, strict=True)
            ]
            # Stable: nodes that score the same keep the retriever's order.
            ranked = sorted(rescored, key=lambda item: -(item.score or 0.0))[: self.top_n]
            event.on_end(payload={EventPayload.NODES: ranked})
        return ranked

    def score_nodes(self, query: str, nodes: list[NodeWithScore]) -> list[float]:
        """Each node's best sentence's probability of answering ``query``; 0.0 for a node
        without text. A sentence repeated across nodes is read once."""
        per_node = [
            node_sentences(item.node.get_content(metadata_mode=MetadataMode.NONE)) for item in nodes
        ]
        unique = list(dict.fromkeys(s for sentences in per_node for s in sentences))
        # Counted as a question being answered, so concurrent reranks share the cores
        # (qa.load) as the engine's answers do.
        with load.answering():
            probabilities = self._reader.score(query, unique)
        by_text = {text: float(p) for text, p in zip(unique, probabilities, strict=True)}
        return [max((by_text[s] for s in sentences), default=0.0) for sentences in per_node]


def citation_node(citation: Citation) -> NodeWithScore:
    """A citation as a source node: the quote, with its file and lines in the metadata."""
    node = TextNode(
        id_=f"{citation.label()}#{citation.id}",
        text=citation.quote,
        metadata={
            "source": citation.source,
            "start_line": citation.start_line,
            "end_line": citation.end_line,
            "citation": citation.id,
        },
    )
    return NodeWithScore(node=node, score=citation.score)


class CitedQueryEngine(CustomQueryEngine):
    """``Engine.ask`` as a llama-index query engine.

    ``query(question)`` returns a ``Response``: ``response`` is the answer's text, exactly as
    ``Engine.ask`` gives it; ``source_nodes`` the cited lines, one node per citation, in the
    answer's [n] order (text: the quote; metadata: source, start_line, end_line, citation);
    ``metadata`` the rest of the answer: ``answered``, ``mode``, ``question``, ``citations``
    (``Citation.model_dump()``) and ``timings_ms``. ``Engine.ask``'s errors (an invalid
    question, an empty index) are raised as they are.
    """

    engine: Engine
    top_k: int | None = Field(default=None, description="Passed to Engine.ask.")
    mode: AnswerMode | None = Field(default=None, description="Passed to Engine.ask.")

    def __init__(
        self,
        engine: Engine,
        top_k: int | None = None,
        mode: AnswerMode | None = None,
        callback_manager: CallbackManager | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            engine=engine,
            top_k=top_k,
            mode=mode,
            callback_manager=callback_manager or CallbackManager([]),
            **kwargs,
        )

    def ask(self, query_str: str) -> Answer:
        """The engine's answer to ``query_str``, with this query engine's top_k and mode."""
        return self.engine.ask(query_str, top_k=self.top_k, mode=self.mode)

    def custom_query(self, query_str: str) -> Response:
        return to_response(self.ask(query_str))

    async def acustom_query(self, query_str: str) -> Response:
        # The engine is thread-safe; a thread keeps the event loop free while it answers.
        return await asyncio.to_thread(self.custom_query, query_str)


def to_response(answer: Answer) -> Response:
    """An ``Answer`` as a llama-index ``Response`` (lossless: ``Answer.model_validate(
    {"answer": r.response, **r.metadata})`` gives it back)."""
    dumped = answer.model_dump()
    return Response(
        response=answer.answer,
        source_nodes=[citation_node(c) for c in answer.citations],
        metadata={
            "answered": dumped["answered"],
            "mode": dumped["mode"],
            "question": dumped["question"],
            "citations": dumped["citations"],
            "timings_ms": dumped["timings_ms"],
        },
    )
