"""Which values of the asked kind a sentence states: general English patterns only."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.answer_kinds import holds_kind, proper_names, values
from qa.questions import AnswerType


@pytest.mark.parametrize(
    ("sentence", "kind", "found"),
    [
        ("The bridge opened on May 5, 1932, after a long delay.", AnswerType.DATE, True),
        ("It opened in the 1930s.", AnswerType.DATE, True),
        ("It opened after a long delay.", AnswerType.DATE, False),
        ("The strike lasted 12 days.", AnswerType.DURATION, True),
        ("The strike lasted a few weeks.", AnswerType.DURATION, True),
        ("The strike ended.", AnswerType.DURATION, False),
        ("It cost $4.5 million to build.", AnswerType.MONEY, True),
        ("It cost 300 million euros.", AnswerType.MONEY, True),
        ("About 4,000 people live there.", AnswerType.NUMBER, True),
        ("The flight was called AB-12.", AnswerType.IDENTIFIER, True),
        ("It closed because the river flooded.", AnswerType.REASON, True),
        ("It closed in spring.", AnswerType.REASON, False),
        ("The plans were drawn by Ann Lee of Leeds.", AnswerType.PERSON, True),
        ("The plans were drawn in spring.", AnswerType.PERSON, False),
        ("Anything at all.", AnswerType.OTHER, False),
    ],
)
def test_a_sentence_states_the_kind_or_not(sentence: str, kind: AnswerType, found: bool) -> None:
    assert holds_kind(sentence, kind) is found


def test_what_the_question_states_is_no_answer() -> None:
    question = "What happened in 1932?"
    assert values("In 1932 the bridge opened.", AnswerType.DATE, question) == []
    assert values("In 1932 the bridge opened, and in 1933 the road.", AnswerType.DATE, question)


def test_names_skip_the_first_word_and_the_question_words() -> None:
    assert proper_names("Yesterday the council met Ann Lee.") == ["Ann Lee"]
    assert proper_names("The Old Bridge was built by Ann Lee.", exclude="the Old Bridge") == [
        "Ann Lee"
    ]


@given(st.text(max_size=200), st.sampled_from(list(AnswerType)), st.text(max_size=50))
def test_values_never_crash_and_come_from_the_sentence(
    sentence: str, kind: AnswerType, question: str
) -> None:
    for value in values(sentence, kind, question):
        assert all(word in sentence for word in value.split())
