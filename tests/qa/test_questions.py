"""Question validation and the kind of answer a question expects."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.errors import InvalidQuestionError
from qa.questions import AnswerType, analyse, validate_question


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_blank_questions_are_refused(text: str) -> None:
    with pytest.raises(InvalidQuestionError, match="empty"):
        validate_question(text)


def test_long_question_is_refused_with_the_limit() -> None:
    with pytest.raises(InvalidQuestionError, match="2,000"):
        validate_question("x" * 2_001)
    assert validate_question("x" * 2_000) == "x" * 2_000


@pytest.mark.parametrize("text", ["a\x00b", "lone \ud800 surrogate"])
def test_nul_and_surrogates_are_refused(text: str) -> None:
    with pytest.raises(InvalidQuestionError):
        validate_question(text)


def test_non_text_is_refused() -> None:
    with pytest.raises(InvalidQuestionError):
        validate_question(42)


@given(st.text(min_size=1, max_size=300))
def test_validation_never_crashes_otherwise(text: str) -> None:
    try:
        assert validate_question(text) == text.strip()
    except InvalidQuestionError as error:
        assert error.message


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the bridge open?", AnswerType.DATE),
        ("In what year was the treaty signed?", AnswerType.DATE),
        ("Who designed the bridge?", AnswerType.PERSON),
        ("How old is the engineer?", AnswerType.AGE),
        ("How long did the strike last?", AnswerType.DURATION),
        ("Where was the treaty signed?", AnswerType.PLACE),
        ("In which city did she study?", AnswerType.PLACE),
        ("Why was the bridge closed?", AnswerType.REASON),
        ("Which ship carried the cargo?", AnswerType.ENTITY),
        ("What is the budget of the project?", AnswerType.MONEY),
        ("How many people live in the town?", AnswerType.NUMBER),
        ("What is the plot of the novel?", AnswerType.OTHER),
        # "when" in a later clause does not make it a date question
        ("What did she say when asked about the delay?", AnswerType.OTHER),
        ("In 1900, who ruled the country?", AnswerType.PERSON),
    ],
)
def test_answer_type(question: str, kind: AnswerType) -> None:
    assert analyse(question).answer_type is kind


def test_terms_are_content_stems_without_duplicates() -> None:
    question = analyse("When did the crew launch, and who launched them?")
    assert "launch" in question.terms
    assert "when" not in question.terms and "the" not in question.terms
    assert len(question.terms) == len(set(question.terms))


def test_a_question_of_stop_words_keeps_them_as_terms() -> None:
    assert analyse("Who is he?").terms


def test_a_yes_no_question_asks_for_no_kind_of_fact() -> None:
    question = analyse("Did anything go wrong when the ship docked?")
    assert question.answer_type is AnswerType.OTHER


@pytest.mark.parametrize(
    "text",
    [
        "What was the mission designation of the flight?",
        "What is the code name of the project?",
        "Which flight number did they take?",
    ],
)
def test_a_designation_asks_for_an_identifier(text: str) -> None:
    assert analyse(text).answer_type is AnswerType.IDENTIFIER


@given(st.text(max_size=200))
def test_analysis_never_crashes_and_terms_come_from_the_text(text: str) -> None:
    question = analyse(text)
    assert question.text == text
    assert len(question.terms) == len(set(question.terms))
