"""Question validation and the kind of answer a question expects."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.errors import InvalidQuestionError
from qa.lexical import words
from qa.questions import AnswerType, analyse, asked_part, validate_question


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
        ("When did the film crew launch to the ISS?", AnswerType.DATE),
        ("Who directs Challenge?", AnswerType.PERSON),
        ("How old is the actress?", AnswerType.AGE),
        ("How long will they stay on the station?", AnswerType.DURATION),
        ("Where did the rocket lift off from?", AnswerType.PLACE),
        ("Why does the cosmonaut need surgery?", AnswerType.REASON),
        ("Which spacecraft carried them?", AnswerType.ENTITY),
        ("What is the budget of the film?", AnswerType.MONEY),
        ("How many films has she appeared in?", AnswerType.NUMBER),
        ("What is the plot of the film?", AnswerType.OTHER),
        # "when" in a later clause does not make it a date question
        ("What did she say when asked about fear?", AnswerType.OTHER),
    ],
)
def test_answer_type(question: str, kind: AnswerType) -> None:
    assert analyse(question).answer_type is kind


def test_terms_are_content_stems_without_duplicates() -> None:
    question = analyse("When did the crew launch, and who launched them?")
    assert "launch" in question.terms
    assert "when" not in question.terms and "the" not in question.terms
    assert len(question.terms) == len(set(question.terms))


def test_the_thing_asked_about() -> None:
    cases = {
        "Which spacecraft carried Peresild to the station?": ("spacecraft",),
        "Which professional cosmonaut accompanied them?": ("profession", "cosmonaut"),
        "What is the running time of Challenge?": ("run", "time"),
        "Who is the CEO of Channel One?": ("ceo",),
        "Who plays the sick cosmonaut's wife?": ("wife",),
        "What is the name of the backup actress for the mission?": ("backup", "actress"),
        "What is the film Challenge about?": (),
        "Who is directing the film?": (),
        "What else is planned?": (),
    }
    for text, phrase in cases.items():
        assert analyse(text).focus_phrase == phrase, text


def test_a_yes_no_question_asks_for_no_kind_of_fact() -> None:
    question = analyse("Did anything go wrong when the Soyuz docked?")
    assert question.answer_type is AnswerType.OTHER


def test_a_casting_question_names_the_part() -> None:
    assert analyse("Who plays the sick pilot's daughter in the film?").character == "daughter"
    assert (
        analyse("Which actor plays the injured engineer who needs help?").character
        == (analyse("engineer").terms[0])
    )
    # A part in general is not a character: any lead actor answers.
    assert analyse("Who plays the lead role in Challenge?").character is None
    assert analyse("Who directs Challenge?").character is None


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


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("Apart from the feature film, what else is planned?", "what else is planned?"),
        ("Besides the movie itself, what else will they make?", "what else will they make?"),
        ("Aside from Peresild who flew?", "who flew?"),
        ("What, other than the film, is planned?", "What, is planned?"),
        # Nothing set aside: the question as it is.
        ("Who other than Peresild flew?", "Who other than Peresild flew?"),
        ("Who directs Challenge?", "Who directs Challenge?"),
    ],
)
def test_what_a_question_sets_aside_is_not_asked(text: str, asked: str) -> None:
    assert asked_part(text) == asked


def test_words_set_aside_are_no_terms() -> None:
    question = analyse("Apart from the feature film, what else is planned by Roscosmos?")
    assert "featur" not in question.terms and "film" not in question.terms
    assert {"plan", "roscosmo"} <= set(question.terms)
    assert question.text.startswith("Apart from")  # quoted as asked


@given(st.text(max_size=200))
def test_the_asked_part_only_drops_words_and_keeps_some(text: str) -> None:
    asked = asked_part(text)
    assert set(words(asked)) <= set(words(text))
    if words(text):
        assert words(asked)


@pytest.mark.parametrize(
    ("text", "more"),
    [
        ("Apart from the film, what else is planned?", True),
        ("Who else flew with them?", True),
        ("What is planned?", False),
        ("Where is the crew going?", False),
    ],
)
def test_what_else_asks_for_more(text: str, more: bool) -> None:
    assert analyse(text).asks_for_more is more
