"""qa: answers questions from a folder of documents, citing file and line, offline by default.

The library, one home per stage: indexing (``qa.indexer``: loading, chunking, embeddings,
store, ingest), search (``qa.retrieval``), reading (``qa.reader``, ``qa.answerers``,
citations and markers) and evaluation (``qa.evaluation``), composed by ``qa.pipeline`` and
held by ``qa.engine``. The front ends live in ``service``; nothing here imports them.
"""

from qa.models import Answer, Citation

__all__ = ["Answer", "Citation"]
__version__ = "0.1.0"
