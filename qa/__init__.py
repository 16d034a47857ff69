"""qa: answers questions from a folder of documents, citing file and line, offline by default."""

from qa.models import Answer, Citation

__all__ = ["Answer", "Citation"]
__version__ = "0.1.0"
