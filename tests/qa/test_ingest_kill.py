"""`kill -9` in the middle of `qa ingest`, then a rerun: the index must hold exactly what a clean
ingest of the corpus holds, in every collection (chunks, sentences, sources), with no duplicate
and no orphan, in the embedded folder and on a Chroma server."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from qa.chunking import chunk_source
from qa.loading import load_corpus
from qa.store import IndexStore, chunk_id
from tests.support.chroma import ChromaServer
from tests.support.processes import qa_environment, run_qa

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = 60
SLOW_WRITES = REPO_ROOT / "tests" / "support" / "slow_writes.py"
#: The corpus is written in 3 groups of about 20 files (64 texts each, QA_EMBED_BATCH_SIZE=4).
#: A second's pause before each write means the first progress line ("23 of 60 files written",
#: logged a second or more after the start) comes after the first write and well before the
#: second, on a machine of any speed.
WRITE_PAUSE_S = 1.0


def synth_corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "synth_corpus", REPO_ROOT / "bench" / "synth_corpus.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected_index(corpus: Path) -> tuple[set[str], set[str], dict[str, int]]:
    """Chunk ids, sentence ids and chunk count per file of a clean ingest of ``corpus``."""
    chunk_ids: set[str] = set()
    sentence_ids: set[str] = set()
    counts: dict[str, int] = {}
    for source in load_corpus(corpus).sources:
        chunks = chunk_source(source, 160, 1000)  # the default chunk sizes
        counts[source.path] = len(chunks)
        for chunk in chunks:
            cid = chunk_id(source.path, source.sha256, chunk.index)
            chunk_ids.add(cid)
            sentence_ids.update(f"{cid}/{j}" for j in range(len(chunk.sentences)))
    return chunk_ids, sentence_ids, counts


def open_store(index_dir: Path, chroma_url: str) -> IndexStore:
    # reopen(): a fresh embedded client, that sees what the killed process wrote.
    return IndexStore(index_dir, "qa", chroma_url).reopen()


def all_ids(collection: object) -> list[str]:
    got = collection.get(include=[])  # type: ignore[attr-defined]
    return list(got["ids"])


def nearest_ids(collection: object, n: int, dimension: int) -> list[str]:
    """Every id the vector index itself returns (an orphan there would show up here)."""
    got = collection.query(  # type: ignore[attr-defined]
        query_embeddings=[np.ones(dimension, dtype=np.float32)], n_results=n, include=[]
    )
    return list(got["ids"][0])


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["embedded", "server"])
def test_kill_9_mid_ingest_then_rerun_leaves_a_clean_index(mode: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    synth_corpus().write_corpus(corpus, DOCS)
    index_dir = tmp_path / "index"
    # Embedded mode needs no server (starting one costs a few seconds of CPU).
    server = ChromaServer(tmp_path / "chroma") if mode == "server" else nullcontext(None)
    with server as chroma:
        chroma_url = chroma.url if chroma is not None else ""
        env = qa_environment(
            QA_INDEX_DIR=str(index_dir),
            QA_CHROMA_URL=chroma_url,
            QA_EMBED_BATCH_SIZE="4",  # writes of about 20 files: 3 in all
            CI="true",
        )
        # Every write waits WRITE_PAUSE_S first, so the ingest lasts seconds however fast the
        # machine is, and the kill below lands midway rather than after the last file.
        process = subprocess.Popen(
            [sys.executable, str(SLOW_WRITES), str(WRITE_PAUSE_S), "ingest", str(corpus), "--json"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        # Progress lines ("Ingest: 23 of 60 files written") come once a second: kill at the
        # first one past a few files, while the next group is embedded or waits to be written.
        written = 0
        deadline = time.monotonic() + 240
        for line in process.stderr:
            if "files written" in line:
                written = int(line.split("Ingest: ")[1].split()[0])
                if written >= 6:
                    break
            assert time.monotonic() < deadline, "the ingest made no progress"
        time.sleep(0.3)  # into the middle of a write batch
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        assert 6 <= written < DOCS, written

        half = open_store(index_dir, chroma_url).sources()
        complete = sum(r.complete for r in half.values())
        assert 0 < complete < DOCS, complete

        rerun = run_qa("ingest", str(corpus), "--json", env=env, cwd=tmp_path)
        assert rerun.returncode == 0, rerun.stderr
        assert "Traceback" not in rerun.stderr

        store = open_store(index_dir, chroma_url)
        chunk_ids, sentence_ids, counts = expected_index(corpus)
        records = store.sources()
        assert sorted(records) == sorted(counts)
        assert all(r.complete for r in records.values())
        assert {p: r.chunk_count for p, r in records.items()} == counts

        stored_chunks = all_ids(store._chunks)
        stored_sentences = all_ids(store._sentences)
        assert len(stored_chunks) == len(set(stored_chunks)) == len(chunk_ids)
        assert set(stored_chunks) == chunk_ids
        assert len(stored_sentences) == len(set(stored_sentences)) == len(sentence_ids)
        assert set(stored_sentences) == sentence_ids
        assert sorted(all_ids(store._sources)) == sorted(counts)
        # The vector indexes agree with the records: every id once, nothing else.
        dimension = int((store._chunks.metadata or {})["dimension"])
        assert sorted(nearest_ids(store._chunks, len(chunk_ids), dimension)) == sorted(chunk_ids)
        assert sorted(nearest_ids(store._sentences, len(sentence_ids), dimension)) == sorted(
            sentence_ids
        )
        # And a third run finds nothing to do.
        again = run_qa("ingest", str(corpus), "--json", env=env, cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert '"texts_embedded": 0' in again.stdout
