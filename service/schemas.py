"""Request and response bodies of the HTTP API (the answer itself is ``qa.models.Answer``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from qa.models import Answer, AnswerMode

EXAMPLE_QUESTION = "Who designed the bridge?"

EXAMPLE_ANSWER: dict[str, Any] = {
    "question": EXAMPLE_QUESTION,
    "answer": "The bridge was designed by Ann Lee, an engineer from Leeds. [1]",
    "answered": True,
    "citations": [
        {
            "id": 1,
            "source": "bridge.md",
            "start_line": 3,
            "end_line": 3,
            "quote": "The bridge was designed by Ann Lee, an engineer from Leeds.",
            "score": 0.91,
        }
    ],
    "mode": "extractive",
    "timings_ms": {"embed": 11.4, "retrieve": 4.9, "answer": 38.3, "total": 54.8},
}

#: Server-Sent Events of POST /ask/stream: the LLM's draft as it is written, then the checked
#: answer (which replaces the draft: markers renumbered, unsupported sentences removed).
EXAMPLE_EVENT_STREAM = (
    'event: delta\ndata: {"text": "The bridge was designed"}\n\n'
    'event: delta\ndata: {"text": " by Ann Lee [1]."}\n\n'
    "event: answer\ndata: "
    '{"question": "Who designed the bridge?", '
    '"answer": "The bridge was designed by Ann Lee. [1]", '
    '"answered": true, "citations": [...], "mode": "generative", "timings_ms": {...}}\n\n'
)


class AskRequest(BaseModel):
    """A question. Unknown fields are refused, so that a misspelt option is not silently ignored."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": EXAMPLE_QUESTION},
                {"question": "When did the bridge open?", "top_k": 5},
                {"question": EXAMPLE_QUESTION, "mode": "generative", "stream": True},
            ]
        },
    )

    question: str = Field(
        description="The question, 1 to 2,000 characters (QA_MAX_QUESTION_CHARS) of text.",
        examples=[EXAMPLE_QUESTION],
    )
    top_k: int | None = Field(
        default=None,
        ge=1,
        le=50,
        strict=True,
        description="Passages to retrieve (1-50); QA_TOP_K when left out.",
    )
    mode: AnswerMode | None = Field(
        default=None,
        description="`extractive` (quotes the sources) or `generative` (an LLM writes the "
        "answer, every sentence checked against the lines it cites; needs QA_LLM_BASE_URL). "
        "Default: generative when an LLM is configured, else extractive.",
    )
    stream: bool = Field(
        default=False,
        strict=True,
        description="Answer as Server-Sent Events (`text/event-stream`): `delta` events with "
        "the text as it is written, then one `answer` event with the checked answer "
        "(the same as POST /ask/stream).",
    )


class ErrorDetail(BaseModel):
    field: str = Field(description="The request field at fault, e.g. `question` or `body`.")
    problem: str


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `invalid_question`.")
    message: str = Field(description="What went wrong.")
    hint: str = Field(description="What to do about it.")
    field: str | None = Field(default=None, description="The request field at fault, if any.")
    details: list[ErrorDetail] = Field(default_factory=list)
    request_id: str = Field(description="Also sent as the X-Request-ID header; quote it in bugs.")


class ErrorResponse(BaseModel):
    """Every error the API returns, whatever the status."""

    error: ErrorBody


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    ready: bool
    sources: int = Field(description="Files in the index.")
    chunks: int = Field(description="Chunks in the index.")
    embedding_model: str
    reason: str | None = Field(default=None, description="Why the service is not ready.")
    hint: str | None = None


class SourceInfo(BaseModel):
    source: str = Field(description="Path relative to the corpus folder, as cited.")
    sha256: str = Field(description="SHA-256 of the file's bytes when it was indexed.")
    line_count: int
    chunk_count: int


class SourceList(BaseModel):
    sources: list[SourceInfo]


class SourceLinesResponse(BaseModel):
    source: str
    sha256: str
    line_count: int
    start_line: int
    end_line: int
    lines: list[str] = Field(description="Lines start_line..end_line, without line terminators.")


class FeedbackRequest(BaseModel):
    """A vote from the web page."""

    model_config = ConfigDict(extra="forbid")

    helpful: bool = Field(strict=True)
    session: str = Field(
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="The voter: a random id the page keeps per browser session.",
    )
    answer_id: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{32}$", description="From an earlier vote's response."
    )
    answer: Answer | None = Field(default=None, description="The answer voted on, as /ask sent it.")


class FeedbackResponse(BaseModel):
    answer_id: str = Field(description="Send it with a later vote on the same answer.")
    helpful: bool
