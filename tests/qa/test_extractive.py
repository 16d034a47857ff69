"""The extractive answerer over the seeds: what it quotes, when it refuses, conflicts."""

from __future__ import annotations

import pytest

from qa.answerers.extractive import ExtractiveAnswerer, asks_for_a_cause, leaning
from qa.engine import Engine


def test_disagreeing_sources_are_both_cited(seed_engine: Engine) -> None:
    answer = seed_engine.ask("How old is the actress Yulia Peresild?")
    assert answer.answered
    assert "36" in answer.answer and "37" in answer.answer
    assert "disagree" in answer.answer
    cited = {(c.source, c.start_line) for c in answer.citations}
    assert ("003_ef181be3a8506996.txt", 11) in cited
    assert ("004_b25d8b9e867eeac6.txt", 26) in cited


@pytest.mark.parametrize(
    "question",
    [
        "How much did Challenge earn at the box office?",
        "Who composed the soundtrack of Challenge?",
        "What is the capital of Australia?",
    ],
)
def test_refuses_what_the_sources_do_not_say(seed_engine: Engine, question: str) -> None:
    answer = seed_engine.ask(question)
    assert not answer.answered
    assert answer.answer.startswith("The sources don't say.")


def test_scores_are_ordered_and_bounded(seed_engine: Engine) -> None:
    evidence, _ = seed_engine.retrieve("Who directs Challenge?")
    ranked = ExtractiveAnswerer().score(evidence)
    scores = [item.score for item in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    # repeated captions are quoted once
    assert len({item.sentence.text for item in ranked}) == len(ranked)


def test_threshold_decides_refusal(seed_engine: Engine) -> None:
    evidence, _ = seed_engine.retrieve("Who directs Challenge?")
    assert ExtractiveAnswerer(min_score=0.0).answer(evidence).answered
    refused = ExtractiveAnswerer(min_score=1.0).answer(evidence)
    assert not refused.answered
    assert len(refused.citations) <= 2  # the closest passages considered


def test_a_measurement_needs_a_unit(seed_engine: Engine) -> None:
    answer = seed_engine.ask("How tall is Klim Shipenko?")
    assert answer.answered and "1.9 metres" in answer.answer
    # The sources give no height for the rocket; "two-person" is a number, not a height.
    assert not seed_engine.ask("How tall is the Soyuz rocket?").answered


def test_when_prefers_a_full_date_and_agreeing_sources_are_no_conflict(
    seed_engine: Engine,
) -> None:
    answer = seed_engine.ask("When did the crew launch?")
    assert answer.answered
    assert "October 5" in answer.answer
    # "October 5, 2021" and "October 5 this year" are one date, not a disagreement.
    assert "disagree" not in answer.answer


def test_which_role_answers_with_the_name_next_to_it(seed_engine: Engine) -> None:
    answer = seed_engine.ask("Which spacecraft carried the crew?")
    assert answer.answered and "Soyuz MS-19" in answer.answer


def test_every_candidate_holds_the_kind_of_fact_asked_for(seed_engine: Engine) -> None:
    evidence, _ = seed_engine.retrieve("When is the crew due back on Earth?")
    ranked = ExtractiveAnswerer().score(evidence)
    assert ranked and all(item.facts for item in ranked)
    assert "October 16" in ranked[0].sentence.text


def test_when_is_answered_by_no_date_yet(seed_engine: Engine) -> None:
    # The sources' answer is that there is none: "a launch date has not yet been revealed".
    answer = seed_engine.ask("When will Tom Cruise's space film launch?")
    assert answer.answered
    assert any(
        phrase in answer.answer for phrase in ("not yet been revealed", "yet to be confirmed")
    )


@pytest.mark.parametrize(
    "question",
    [
        # A 12-day stay and a three-hour trip are two facts, not two answers.
        "How long after lifting off did the crew reach the space station?",
        # "37-year-old" is not a length of stay.
        "How long will the actress and the director stay on the station?",
        # Rogozin heads the agency; he is not a second director.
        "Who is directing the movie?",
    ],
)
def test_no_disagreement_where_the_sources_agree(seed_engine: Engine, question: str) -> None:
    answer = seed_engine.ask(question)
    assert answer.answered
    assert "disagree" not in answer.answer
    assert len(answer.citations) == 1


def test_a_casting_question_needs_a_line_that_casts_that_part(seed_engine: Engine) -> None:
    answer = seed_engine.ask("Who plays the surgeon in the film?")
    assert answer.answered and "Peresild" in answer.answer
    # Lines cast Peresild as the surgeon; none says who plays anyone's daughter.
    assert not seed_engine.ask("Who plays the sick cosmonaut's daughter?").answered


def test_why_a_state_is_answered_by_a_cause_not_a_purpose(seed_engine: Engine) -> None:
    # "to save a crew member" is why the surgeon goes, not why the crew member needs surgery.
    answer = seed_engine.ask("Why does the sick crew member in the movie need surgery?")
    assert answer.answered
    assert any(cause in answer.answer for cause in ("heart", "debris", "too sick"))


def test_a_designation_is_answered_by_an_identifier(seed_engine: Engine) -> None:
    answer = seed_engine.ask("What mission designation did the film crew fly under?")
    assert answer.answered and "ISS-66" in answer.answer


@pytest.mark.parametrize(
    ("question", "cause"),
    [
        ("Why does the cosmonaut need an operation?", True),
        ("Why can't she be flown home?", True),
        ("Why was the ride rough on the director?", True),
        ("Why is Russia making a film in orbit?", False),  # a purpose answers this
        ("Why did they fly to the station?", False),
    ],
)
def test_which_why_questions_ask_for_a_cause(question: str, cause: bool) -> None:
    assert asks_for_a_cause(question) is cause


def test_what_else_is_answered_by_what_is_also_there(seed_engine: Engine) -> None:
    # "documentaries ... are also planned" adds to the film; "not only for professionals
    # but also for ..." adds nothing.
    question = "Apart from the movie, what else does the educational project include?"
    answer = seed_engine.ask(question)
    assert answer.answered and "documentaries" in answer.answer
    cited = [(c.source, c.start_line) for c in answer.citations]
    assert cited == [("001_14ba5daab466d46c.txt", 21)]


@pytest.mark.parametrize(
    ("before", "sentence", "how"),
    [
        ("They have trained since June.", "The training regimen included a jump.", "definite"),
        ("Tom Cruise announced a film.", "They were planning a movie in space.", "pronoun"),
        ("Peresild was seen here in Moscow.", "The actress is part of a crew.", None),
        ("The crew launched on Tuesday.", "The station is 400 km up.", None),
    ],
)
def test_a_sentence_leans_on_the_one_before(before: str, sentence: str, how: str | None) -> None:
    from qa.lexical import stems

    assert leaning(set(stems(before)), sentence) == how


def test_a_sentence_quoted_for_its_context_states_only_its_own_facts(seed_engine: Engine) -> None:
    # "Peresild, seen here in Moscow on June 4, 2021. The actress is part of a crew flying
    # to the ISS later this year": June 4 is the interview's date, not the flight's.
    evidence, _ = seed_engine.retrieve("When is the actress's crew flying to the ISS?")
    pairs = [
        item
        for item in ExtractiveAnswerer().score(evidence)
        if "seen here" in item.sentence.text and "The actress is part" in item.sentence.text
    ]
    assert pairs
    assert all(item.facts == ["later this year"] for item in pairs)


def test_a_definite_sentence_is_quoted_with_the_one_it_leans_on(seed_engine: Engine) -> None:
    answer = seed_engine.ask("What did the training regimen include?")
    assert answer.answered
    assert "The training regimen included" in answer.answer and "parachute" in answer.answer
    assert "have been training since June 1" in answer.answer  # which training
