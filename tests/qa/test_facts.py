"""Finding the asked kind of fact in a sentence."""

from __future__ import annotations

from qa.facts import facts, normalise_fact, proper_names
from qa.questions import AnswerType


def test_dates() -> None:
    found = facts("The launch is at Baikonur, Kazakhstan October 5, 2021.", AnswerType.DATE)
    assert any("October 5" in f for f in found)
    assert facts("On Sept. 21, Guterres spoke.", AnswerType.DATE)


def test_ages_agree_across_spellings() -> None:
    assert facts("37-year-old actress Yulia Peresild", AnswerType.AGE) == ["37-year-old"]
    assert normalise_fact("37-year-old") == normalise_fact("37 years old")
    assert normalise_fact("36-year-old") != normalise_fact("37-year-old")


def test_durations_and_money() -> None:
    assert "12-day" in facts("a 12-day posting to the ISS", AnswerType.DURATION)
    assert any("$200 million" in f for f in facts("a $200 million dollar film", AnswerType.MONEY))


def test_facts_in_the_question_do_not_count() -> None:
    assert facts("She is 37 years old.", AnswerType.AGE, "Is she 37 years old?") == []


def test_proper_names_skip_the_question_and_sentence_start() -> None:
    names = proper_names(
        "They will be joined by Russian cosmonaut Oleg Artemyev.", exclude="Who joined them?"
    )
    assert names == ["Oleg Artemyev"]
    assert proper_names("Reuters", exclude="") == []


def test_reasons() -> None:
    assert facts("a crew member who was struck by debris", AnswerType.REASON)
    assert facts("to treat a crew mate with a heart condition", AnswerType.REASON)
