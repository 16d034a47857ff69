"""Follow-up questions: a question that leans on the conversation before it, made standalone.

"And who plays her sister?" means nothing to retrieval on its own. With an LLM, the recent turns
and the follow-up are sent to it with the instruction to rewrite the follow-up so that it stands
alone (the condense-question pattern of llama-index's chat engines); the rewrite is what gets
retrieved, answered and shown as the answer's ``question``. Without an LLM, or when the LLM
fails or sends back something that is not one short question, the question is used as asked.

Example::

    >>> history = [Turn(role="user", text="Who founded the company?"),
    ...            Turn(role="assistant", text="Ann Lee [1].")]
    >>> standalone_question("When was she born?", history, llm, max_chars=2_000)
    'When was Ann Lee born?'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from qa.errors import LLMFailedError
from qa.llm import LLMClient
from qa.models import Turn
from qa.prompts import build_condense_messages

logger = logging.getLogger(__name__)

#: The most recent turns sent to the LLM: a referent older than three exchanges is rare, and
#: every turn costs prompt tokens.
MAX_TURNS = 6
#: Each turn is cut to this many characters (an earlier answer with its sources list is long).
MAX_TURN_CHARS = 1_000
#: A rewrite is one question: a few times the length of the longest plausible follow-up.
MAX_REWRITE_TOKENS = 96


def standalone_question(
    question: str, history: Sequence[Turn], llm: LLMClient | None, max_chars: int
) -> str:
    """``question`` rewritten to stand alone given ``history`` (oldest first), or as asked."""
    recent = [t for t in history if t.text.strip()][-MAX_TURNS:]
    if llm is None or not any(t.role == "user" for t in recent):
        return question
    conversation = [(t.role, _shorten(t.text)) for t in recent]
    try:
        completion = llm.with_options(temperature=0.0, max_tokens=MAX_REWRITE_TOKENS).complete(
            build_condense_messages(question, conversation)
        )
    except LLMFailedError as exc:
        logger.warning("%s The follow-up is answered as asked.", exc.message)
        return question
    rewrite = _one_question(completion.text)
    if not rewrite or len(rewrite) > max_chars:
        logger.warning("The LLM's rewrite of a follow-up was unusable; answered as asked.")
        return question
    if rewrite != question:
        logger.info("follow-up rewritten to stand alone", extra={"turns": len(recent)})
    return rewrite


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TURN_CHARS else text[: MAX_TURN_CHARS - 1] + "…"


def _one_question(text: str) -> str:
    """The first non-empty line, without a label or quotes a small model may add."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    label, colon, rest = line.partition(":")
    if colon and label.strip().lower() in {"rewritten question", "question", "rewritten"}:
        line = rest.strip()
    return line.strip("\"'“”` ").strip()
