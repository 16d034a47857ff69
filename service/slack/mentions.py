"""The question in a Slack message: its text without the bot's mention and Slack's markup.

Slack sends message text with mentions as ``<@U123>``, links as ``<https://x|label>`` and
``&``, ``<``, ``>`` escaped as entities (https://api.slack.com/reference/surfaces/formatting).

Example::

    >>> question_from_message("<@U0BOT> who wrote the R&amp;D report?")
    'who wrote the R&D report?'
"""

from __future__ import annotations

import re

_MARKUP = re.compile(r"<([^<>]*)>")
_SPACES = re.compile(r"\s+")


def _replace(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith(("@", "!")):
        # A user mention (the bot itself, usually) or @here / @channel: not part of the question.
        return " "
    if target.startswith("#"):
        return f"#{label}" if label else " "
    return label or target


def question_from_message(text: str) -> str:
    """The question a person typed, from a message's ``text`` as Slack delivers it."""
    plain = _MARKUP.sub(_replace, text)
    plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _SPACES.sub(" ", plain).strip()


def escape(text: str) -> str:
    """Text made safe for a Slack message: the three characters Slack's markup uses."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
