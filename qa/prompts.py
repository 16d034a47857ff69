"""The prompt of the generative answerer, as module-level constants.

The sources are numbered [1]..[n] and labelled with their file and lines, so that the model
can cite them the way the answer contract does. Whatever the model writes is checked
afterwards (``qa.answerers.generative``): the prompt asks for good behaviour, the checks
enforce it.

Example::

    >>> messages = build_messages("Who designed the bridge?", evidence.chunks)
    >>> messages[1]["content"].splitlines()[2]
    '[1] bridge.md, lines 3-3:'
"""

from __future__ import annotations

from collections.abc import Sequence

from qa.models import NOT_IN_SOURCES
from qa.retrieval import RetrievedChunk

SYSTEM_PROMPT = f"""\
You answer questions using only the numbered sources you are given.
Rules:
- Use only facts stated in the sources. Do not add anything from your own knowledge.
- After every sentence, write the number of the source that states it in square brackets, \
like this: The bridge opened in 1932 [1].
- Only use numbers of sources you were given.
- Where the sources disagree, say so and cite each side.
- Keep the answer short: one to three sentences.
- If the sources do not answer the question, reply with exactly: {NOT_IN_SOURCES}"""

SOURCE_TEMPLATE = "[{number}] {source}, lines {start_line}-{end_line}:\n{text}"

USER_TEMPLATE = """\
Sources:

{sources}

Question: {question}
Answer (cite sources as [n] after each sentence):"""


def format_sources(chunks: Sequence[RetrievedChunk]) -> str:
    """The retrieved chunks as numbered, labelled sources; [n] is chunk n (1-based)."""
    return "\n\n".join(
        SOURCE_TEMPLATE.format(
            number=number,
            source=hit.chunk.source,
            start_line=hit.chunk.start_line,
            end_line=hit.chunk.end_line,
            text=hit.chunk.text,
        )
        for number, hit in enumerate(chunks, start=1)
    )


def build_messages(question: str, chunks: Sequence[RetrievedChunk]) -> list[dict[str, str]]:
    """The chat messages asking ``question`` about ``chunks``."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {
            "role": "user",
            "content": USER_TEMPLATE.format(sources=format_sources(chunks), question=question),
        },
    ]


CONDENSE_SYSTEM_PROMPT = """\
You rewrite the last question of a conversation so that it can be understood without the \
conversation.
Rules:
- Replace words such as "he", "she", "it", "they", "that" and "there" with what they refer to \
in the conversation.
- Keep the question's meaning and wording otherwise. Do not answer it.
- If the question already stands on its own, repeat it unchanged.
- Reply with the rewritten question alone, on one line."""

CONDENSE_USER_TEMPLATE = """\
Conversation:

{conversation}

Last question: {question}
Rewritten question:"""


def build_condense_messages(
    question: str, conversation: Sequence[tuple[str, str]]
) -> list[dict[str, str]]:
    """The chat messages asking for ``question`` rewritten to stand on its own;
    ``conversation`` is (role, text) pairs, oldest first."""
    lines = "\n".join(f"{role.capitalize()}: {text}" for role, text in conversation)
    return [
        {"role": "system", "content": CONDENSE_SYSTEM_PROMPT},
        {
            "role": "user",
            "content": CONDENSE_USER_TEMPLATE.format(conversation=lines, question=question),
        },
    ]
