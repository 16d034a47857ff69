"""Does fusion help? Retrieval recall@k / MRR and answer accuracy per retrieval method.

Usage: python bench/bench_retrieval.py [--top-k 5] [--gold eval/gold.jsonl eval/dev.jsonl]

Ingests a copy of seeds/ into a temporary index, then runs the gold sets through the engine with
each retrieval method (hybrid, hybrid-chunks, dense, bm25) and prints one row per method and set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from qa.config import configure_offline_environment, load_settings

configure_offline_environment()

from qa.engine import Engine  # noqa: E402
from qa.evaluation import load_gold, run_eval  # noqa: E402
from qa.retrieval import RetrievalMethod  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
METHODS: list[RetrievalMethod] = ["hybrid", "hybrid-chunks", "dense", "bm25"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument(
        "--gold",
        type=Path,
        nargs="+",
        default=[REPO / "eval" / "gold.jsonl", REPO / "eval" / "dev.jsonl"],
    )
    args = parser.parse_args()
    k: int = args.top_k
    with tempfile.TemporaryDirectory(prefix="qa-bench-retrieval-") as tmp:
        corpus = Path(tmp) / "seeds"
        shutil.copytree(REPO / "seeds", corpus)
        settings = load_settings(_env_file=None, corpus_dir=corpus, index_dir=Path(tmp) / "index")
        engine = Engine.open(settings)
        engine.ingest()
        print(f"{'method':14s} {'set':10s} recall@{k:<3d} MRR    accuracy refusal")
        for method in METHODS:
            engine.retrieval_method = method
            engine.reload()
            for path in args.gold:
                gold = load_gold(path)
                report = run_eval(
                    gold, lambda q: engine.ask_with_evidence(q, top_k=k), "extractive", k
                )
                m = report.metrics
                print(
                    f"{method:14s} {path.stem:10s} {m[f'retrieval_recall_at_{k}']:.3f}     "
                    f"{m['retrieval_mrr']:.3f}  {m['answer_accuracy']:.3f}    "
                    f"{m['refusal_accuracy']:.3f}"
                )


if __name__ == "__main__":
    main()
