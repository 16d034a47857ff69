"""Finding the asked kind of fact in a sentence."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qa.facts import (
    cast_names,
    facts,
    modifies_another_noun,
    normalise_fact,
    proper_names,
    role_names,
    title_cased,
)
from qa.lexical import stems
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


def test_role_names_stand_next_to_the_role() -> None:
    sentence = "They take off alongside cosmonaut Anton Shkaplerov for a 12-day posting."
    assert role_names(sentence, ("cosmonaut",)) == ["Anton Shkaplerov"]
    # Before the role, after a comma: "Konstantin Ernst, CEO of Channel One".
    assert role_names("Konstantin Ernst, CEO of Channel One, said so.", ("ceo",)) == [
        "Konstantin Ernst"
    ]
    # The role is part of the name.
    assert role_names("at the Yuri Gagarin Center for training", ("train", "center")) == [
        "Yuri Gagarin Center"
    ]
    # Names the question uses are not answers.
    assert role_names(sentence, ("cosmonaut",), question="Is Shkaplerov a cosmonaut?") == ["Anton"]


def test_role_names_refuse_a_modifier_on_another_noun() -> None:
    sentence = "Russian actress Yulia Peresild will fly."
    context = "Russian actress Yulia Peresild will fly, with a two-person backup crew."
    # The paragraph's "backup" is on the crew: this actress is not the backup actress.
    assert role_names(sentence, ("backup", "actress"), context=context) == []
    # With no such conflict, a modifier may be left unsaid ("professional cosmonaut").
    assert role_names(sentence, ("lead", "actress")) == ["Yulia Peresild"]


def test_role_names_fall_back_when_the_role_is_worded_otherwise() -> None:
    assert role_names("A surgeon, played by Peresild, saves him.", ("surgeon",)) is None
    assert role_names("No roles here at all.", ("cosmonaut",)) is None


@given(st.text(max_size=120), st.sampled_from(["cosmonaut", "ceo", "actress"]))
def test_role_names_come_from_the_sentence(sentence: str, role: str) -> None:
    for name in role_names(sentence, (role,)) or []:
        assert all(part in sentence for part in name.split())


def test_places_of_an_origin_question_skip_destinations() -> None:
    sentence = "It launched toward the International Space Station from Baikonur."
    assert facts(sentence, AnswerType.PLACE, "Where was the crew launched from?") == ["Baikonur"]
    assert "International Space Station" in facts(sentence, AnswerType.PLACE, "Where did it go?")


def test_an_age_is_not_a_duration() -> None:
    sentence = "37-year-old actress Yulia Peresild flew for a 12-day stay."
    assert facts(sentence, AnswerType.DURATION) == ["12-day"]


def test_a_headline_names_no_one() -> None:
    headline = "Russian Film Crew Set to Make First Ever Movie in Space Onboard ISS"
    assert title_cased(headline)
    assert facts(headline, AnswerType.PLACE) == []
    assert not title_cased("The crew launched from Baikonur in Kazakhstan.")


def test_cast_names_name_who_plays_the_part_asked_about() -> None:
    plot = "The plot revolves around a surgeon, played by Peresild, who hurries to the station."
    assert cast_names(plot, "surgeon") == ["Peresild"]
    assert cast_names(plot, "wife") == []  # casts someone, but in another part
    assert cast_names("Follows a Russian doctor (played by Peresild).", "doctor") == ["Peresild"]
    assert cast_names("Peresild, who will play the heroic doctor, said so.", "doctor") == [
        "Peresild"
    ]
    assert cast_names("Actor Yulia Peresild waves before the launch.", "doctor") is None


def test_a_modifier_used_on_another_noun() -> None:
    crew = "They will be joined by Oleg Artemyev, as well as a two-person backup crew."
    assert modifies_another_noun(("backup", "actress"), crew)
    assert not modifies_another_noun(("backup", "actress"), "The backup actress trained too.")
    assert not modifies_another_noun(("actress",), crew)  # no modifier to misuse


@given(
    st.sampled_from(["backup", "veteran", "lead"]),
    st.sampled_from(["crew", "team"]),
    st.booleans(),
)
def test_a_modifier_on_its_own_head_is_never_misused(
    modifier: str, other: str, whole_first: bool
) -> None:
    phrase = (*stems(modifier), *stems("actress"))
    # Once the sources use the whole phrase, other uses of the modifier do not rule it out,
    # before it or after it.
    whole, misused = f"The {modifier} actress is named.", f"A {modifier} {other} exists too."
    text = f"{whole} {misused}" if whole_first else f"{misused} {whole}"
    assert not modifies_another_noun(phrase, text)


_PASSAGE = st.lists(
    st.sampled_from(["a", "backup", "crew", "actress", "the", "veteran", "team", "named", "."]),
    max_size=12,
).map(" ".join)


@given(st.lists(_PASSAGE, max_size=4), st.sampled_from(["backup", "veteran"]))
def test_passages_read_as_one_text(passages: list[str], modifier: str) -> None:
    # The answerer hands over its retrieved chunks one by one, so that each is tokenized once.
    phrase = (*stems(modifier), *stems("actress"))
    assert modifies_another_noun(phrase, *passages) == modifies_another_noun(
        phrase, "\n".join(passages)
    )


def test_identifiers_are_letters_and_a_number() -> None:
    sentence = "The crew of the ISS-66 mission boarded Soyuz MS-19 on October 5, 2021."
    assert facts(sentence, AnswerType.IDENTIFIER) == ["ISS-66", "Soyuz MS-19"]
    assert facts("The crew flew on October 5.", AnswerType.IDENTIFIER) == []
