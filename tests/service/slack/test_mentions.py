"""Questions from Slack message text: mentions and markup out, entities decoded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.slack.mentions import escape, question_from_message

user_ids = st.from_regex(r"\A[UW][A-Z0-9]{6,10}\Z", fullmatch=True)


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("<@U0QABOT> when did the crew launch?", "when did the crew launch?"),
        ("<@U0QABOT|qa> who directs Challenge?", "who directs Challenge?"),
        ("who directs it? <@U0QABOT>", "who directs it?"),
        ("<!here> <@U0QABOT>   how   long\nwas the stay?", "how long was the stay?"),
        ("is the budget &gt; $10m &amp; &lt;$20m?", "is the budget > $10m & <$20m?"),
        ("what did <https://tass.com/x|TASS> say?", "what did TASS say?"),
        ("see <https://tass.com/x>", "see https://tass.com/x"),
        ("asked in <#C0GENERAL|general>", "asked in #general"),
        ("<@U0QABOT>", ""),
        ("", ""),
    ],
)
def test_examples(text: str, question: str) -> None:
    assert question_from_message(text) == question


@given(st.text())
def test_escaped_text_comes_back_as_typed(text: str) -> None:
    # Slack escapes &, < and > in what people type; whatever they typed is the question.
    assert question_from_message(escape(text)) == " ".join(text.split())


@given(user_ids, st.text())
def test_the_mention_is_never_part_of_the_question(user: str, text: str) -> None:
    question = question_from_message(f"<@{user}> {escape(text)}")
    assert question == " ".join(text.split())


@given(st.text())
def test_any_text_gives_a_trimmed_single_spaced_question(text: str) -> None:
    question = question_from_message(text)
    assert question == question.strip()
    assert "  " not in question
    assert "<@" not in question or "<@" in text.replace("&lt;", "<")
