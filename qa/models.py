"""The answer contract shared by the CLI (--json), the HTTP service, the Slack bot and eval."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

#: The answer mode a caller asks for.
AnswerMode = Literal["extractive", "generative"]
#: The mode that produced an answer: "extractive-fallback" when generative was asked for but the
#: LLM failed or timed out, and the extractive answerer answered instead (QA_LLM_FALLBACK).
AnsweredMode = Literal["extractive", "generative", "extractive-fallback"]
#: How a refusal's answer text starts: the sources hold no answer to the question.
NOT_IN_SOURCES = "The sources don't say."


class Citation(BaseModel):
    """A verbatim quote and the lines of the source file that hold it."""

    id: int = Field(ge=1, description="The number used as [n] in the answer text.")
    source: str = Field(description="Path of the file, relative to the corpus folder.")
    start_line: int = Field(ge=1, description="First line holding the quote (1-based).")
    end_line: int = Field(ge=1, description="Last line holding the quote (inclusive).")
    quote: str = Field(description="Text copied verbatim from start_line..end_line.")
    score: float = Field(description="How strongly this passage supports the answer (0-1).")

    def label(self) -> str:
        """``notes.txt:16`` for one line, ``notes.txt:15-17`` for several."""
        if self.start_line == self.end_line:
            return f"{self.source}:{self.start_line}"
        return f"{self.source}:{self.start_line}-{self.end_line}"

    @model_validator(mode="after")
    def _lines_in_order(self) -> Citation:
        if self.end_line < self.start_line:
            raise ValueError("end_line must not be before start_line")
        return self


class Timings(BaseModel):
    """Milliseconds spent per stage; ``retrieve`` excludes the query embedding."""

    embed: float = 0.0
    retrieve: float = 0.0
    answer: float = 0.0
    total: float = 0.0


class Answer(BaseModel):
    """One answer. ``answered`` is false when the sources do not support an answer."""

    question: str
    answer: str
    answered: bool
    citations: list[Citation]
    mode: AnsweredMode = Field(
        description="extractive, generative, or extractive-fallback when the LLM failed and the "
        "extractive answerer answered instead.",
        examples=["extractive", "generative", "extractive-fallback"],
    )
    timings_ms: Timings = Field(default_factory=Timings)


class Turn(BaseModel):
    """One earlier message of a conversation, for a follow-up question (``qa.conversation``)."""

    role: Literal["user", "assistant"]
    text: str
