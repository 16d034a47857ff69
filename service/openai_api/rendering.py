"""An answer as a chat client shows it: the text with its [n] markers, then a short sources
list, since a plain chat client shows only the message's text.

Example of an answered question's content::

    The bridge was designed by Ann Lee [1].

    Sources:
    - [1] bridge.md:3: "The bridge was designed by Ann Lee, an engineer from Leeds."
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from qa.models import Answer, Citation
from service.links import citation_url

#: Quotes in the sources list are cut to this many characters; the ``qa`` field has them whole.
QUOTE_CHARS = 200

#: A run of markers with the spaces and one full stop around it: " [1] [2]." or ". [1]".
_MARKERS = re.compile(r"\s*\.?\s*((?:\[\d+\]\s*)+)\.?")

SOURCES_HEADING = "Sources:"
CLOSEST_HEADING = "Closest passages (not an answer):"
FALLBACK_NOTE = "(The LLM did not answer; this is the extractive answer, quoted from the sources.)"
CHECKED_HEADING = "Checked against the sources:"


def chat_content(answer: Answer, public_url: str = "") -> str:
    """The whole message: the answer's text and its sources."""
    return answer.answer + sources_section(answer, public_url)


def sources_section(answer: Answer, public_url: str = "") -> str:
    """What follows the answer's text: a note for a fallback, then the cited passages (as
    closest passages, not sources, when the sources don't say). Starts with a blank line."""
    parts: list[str] = []
    if answer.mode == "extractive-fallback":
        parts.append(FALLBACK_NOTE)
    if answer.citations:
        heading = SOURCES_HEADING if answer.answered else CLOSEST_HEADING
        items = "\n".join(_item(c, public_url) for c in answer.citations)
        parts.append(f"{heading}\n{items}")
    return "".join(f"\n\n{part}" for part in parts)


def stream_ending(streamed: str, answer: Answer, public_url: str = "") -> str:
    """What a stream sends after ``streamed`` (an LLM's unchecked draft) once ``answer`` is
    checked. A chat stream can only append: when the checks changed the text (a sentence
    removed, markers renumbered), the checked answer follows the draft under a heading."""
    if not streamed.strip():
        return chat_content(answer, public_url)
    if _canonical(streamed) == _canonical(answer.answer):
        return sources_section(answer, public_url)
    return f"\n\n---\n{CHECKED_HEADING}\n\n{chat_content(answer, public_url)}"


def _canonical(text: str) -> str:
    """``text`` with the spacing and full stops around its markers evened out: the checks
    write "sentence. [1]" where an LLM wrote "sentence [1].", which is the same answer."""
    text = _MARKERS.sub(lambda m: "".join(m.group(1).split()) + " ", text)
    return " ".join(text.split())


def _item(citation: Citation, public_url: str) -> str:
    label = citation.label()
    if public_url:
        label = f"[{label}]({citation_url(citation, public_url)})"
    quote = " ".join(citation.quote.split())
    if len(quote) > QUOTE_CHARS:
        quote = quote[: QUOTE_CHARS - 1].rstrip() + "…"
    return f'- [{citation.id}] {label}: "{quote}"'


@functools.cache
def _encoder() -> Callable[[str], int]:
    """A token counter: tiktoken's cl100k (bundled with llama-index, read offline), or about
    four characters a token when it cannot be loaded."""
    try:
        import tiktoken

        encoding = tiktoken.get_encoding("cl100k_base")
    except Exception:
        return lambda text: (len(text) + 3) // 4
    return lambda text: len(encoding.encode(text, disallowed_special=()))


def count_tokens(texts: Iterable[str]) -> int:
    count = _encoder()
    return sum(count(text) for text in texts)


def turn_text(content: str) -> str:
    """An earlier assistant turn without the sources list this service appended to it: the
    answer is what a follow-up refers to, and the list would only cost prompt tokens."""
    for heading in (SOURCES_HEADING, CLOSEST_HEADING):
        content = content.split(f"\n\n{heading}\n", 1)[0]
    return content
