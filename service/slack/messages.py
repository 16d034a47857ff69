"""Slack messages (Block Kit) for answers, refusals, errors and help.

An answer is its text, then each citation as ``source:start-end`` with its quote, so that anyone
in the channel can check it; with QA_PUBLIC_URL set the label links to the cited lines on
``/sources``. Every message has a plain ``text`` too: Slack shows it in notifications and to
clients that cannot draw blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qa.models import NOT_IN_SOURCES, Answer, Citation
from service.links import citation_url
from service.slack.mentions import escape

LOOKING = "Looking through the sources…"
HELP = (
    "Ask me a question about the documents, e.g. `@qa when did the bridge open?` in a channel, "
    "a direct message, or `/ask who designed the bridge?`. Every answer quotes the lines it "
    "comes from."
)
FEEDBACK_HELPFUL = "qa_feedback_helpful"
FEEDBACK_NOT_HELPFUL = "qa_feedback_not_helpful"

#: Block Kit limits: 3,000 characters a section, 50 blocks a message.
_SECTION_CHARS = 2_900
_MAX_CITATIONS = 10

Block = dict[str, Any]


@dataclass(frozen=True)
class SlackMessage:
    text: str
    blocks: list[Block] = field(default_factory=list)


def citation_link(citation: Citation, public_url: str) -> str:
    label = citation.label()
    if not public_url:
        return f"`{escape(label)}`"
    return f"<{citation_url(citation, public_url)}|{escape(label)}>"


def _section(markdown: str) -> Block:
    if len(markdown) > _SECTION_CHARS:
        markdown = markdown[: _SECTION_CHARS - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown}}


def _quote_block(citation: Citation, public_url: str) -> Block:
    quoted = "\n".join(f"> {line}" for line in escape(citation.quote).splitlines() or [""])
    return _section(f"*[{citation.id}]* {citation_link(citation, public_url)}\n{quoted}")


def _feedback_block(feedback_id: str) -> Block:
    return {
        "type": "actions",
        "block_id": "qa_feedback",
        "elements": [
            {
                "type": "button",
                "action_id": FEEDBACK_HELPFUL,
                "text": {"type": "plain_text", "text": "Helpful"},
                "value": feedback_id,
            },
            {
                "type": "button",
                "action_id": FEEDBACK_NOT_HELPFUL,
                "text": {"type": "plain_text", "text": "Not helpful"},
                "value": feedback_id,
            },
        ],
    }


def answer_message(answer: Answer, feedback_id: str | None, public_url: str = "") -> SlackMessage:
    """The reply to a question: the answer and its citations, or a plain refusal."""
    shown = answer.citations[:_MAX_CITATIONS]
    labels = ", ".join(c.label() for c in shown)
    blocks: list[Block]
    if answer.answered:
        text = f"{answer.answer}\nSources: {labels}" if labels else answer.answer
        blocks = [_section(escape(answer.answer))]
        blocks += [_quote_block(c, public_url) for c in shown]
    else:
        text = NOT_IN_SOURCES
        blocks = [_section(f"*{NOT_IN_SOURCES}*")]
        if shown:
            blocks.append(
                {
                    "type": "context",
                    "elements": [
                        {
                            "type": "mrkdwn",
                            "text": "The closest passages I found, which do not answer it:",
                        }
                    ],
                }
            )
            blocks += [_quote_block(c, public_url) for c in shown]
    if len(answer.citations) > len(shown):
        more = len(answer.citations) - len(shown)
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {more} more."}]}
        )
    if feedback_id:
        blocks.append(_feedback_block(feedback_id))
    return SlackMessage(text=text, blocks=blocks)


def error_message(message: str, hint: str) -> SlackMessage:
    text = f"I couldn't answer: {message} {hint}".strip()
    return SlackMessage(text=text, blocks=[_section(f":warning: {escape(text)}")])


def unexpected_error_message(reference: str) -> SlackMessage:
    text = (
        "Something went wrong on my side and I couldn't answer. Please try again; if it keeps "
        f"happening, tell whoever runs me (reference {reference})."
    )
    return SlackMessage(text=text, blocks=[_section(f":warning: {text}")])


def help_message() -> SlackMessage:
    return SlackMessage(text=HELP, blocks=[_section(HELP)])


def thanks_message(helpful: bool) -> str:
    return (
        "Thanks, noted as helpful."
        if helpful
        else "Thanks, noted as not helpful: it helps us find what to fix."
    )
