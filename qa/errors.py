"""Errors a user can act on: each carries what went wrong and what to do next."""

from __future__ import annotations


class QAError(Exception):
    """Base error. ``message`` says what went wrong, ``hint`` what to do about it."""

    #: Short machine-readable code, shared by the CLI (--json) and the HTTP service.
    code = "qa_error"

    def __init__(self, message: str, hint: str = "", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: The request field at fault, when there is one (shown by the HTTP service).
        self.field = field

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class InvalidQuestionError(QAError):
    code = "invalid_question"


class InvalidRequestError(QAError):
    """A request option (not the question) is out of range."""

    code = "invalid_request"


class SourceNotFoundError(QAError):
    code = "source_not_found"


class SourceChangedError(QAError):
    """The file on disk no longer matches what was indexed, so its line numbers may not either."""

    code = "source_changed"


class CorpusNotFoundError(QAError):
    code = "corpus_not_found"


class EmptyIndexError(QAError):
    code = "index_empty"


class EmbeddingModelMismatchError(QAError):
    code = "embedding_model_mismatch"


class CorruptIndexError(QAError):
    code = "index_corrupt"


class StoreUnavailableError(QAError):
    code = "store_unavailable"


class EmbeddingError(QAError):
    code = "embedding_failed"


class ConfigError(QAError):
    code = "invalid_config"


class LLMFailedError(QAError):
    """The LLM could not be reached, refused the request or answered with something unusable."""

    code = "llm_failed"


class LLMTimeoutError(LLMFailedError):
    """The LLM did not finish within QA_LLM_TIMEOUT_S (retries included)."""

    code = "llm_timeout"
