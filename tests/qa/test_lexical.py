"""Tokens, stems and IDF shared by BM25 and the answerer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qa.lexical import TermStatistics, stems, words


def test_inflections_meet() -> None:
    assert stems("launched")[0] == stems("launch")[0] == stems("launches")[0]


def test_curly_and_straight_apostrophes_agree() -> None:
    assert words("Earth’s orbit") == words("Earth's orbit") == ["earth", "orbit"]


def test_us_the_country_is_not_the_pronoun() -> None:
    assert stems("a project in the US") != stems("a project for us")
    assert stems("the U.S. and the EU")[0] == stems("the US")[0]


def test_rare_words_weigh_more() -> None:
    stats = TermStatistics(["the film crew", "the film", "baikonur launch"])
    assert stats.idf(stems("baikonur")[0]) > stats.idf(stems("film")[0])
    assert stats.idf("neverseen") == stats.idf(stems("baikonur")[0])


@given(st.text(max_size=200))
def test_stemming_never_fails(text: str) -> None:
    assert all(isinstance(s, str) and s for s in stems(text))


def test_acronyms_defined_in_the_text() -> None:
    from qa.lexical import acronyms, stems

    assert acronyms("to the International Space Station (ISS) today") == {
        "iss": tuple(stems("International Space Station"))
    }
    # Initials that do not spell it: not a definition.
    assert acronyms("the Russian agency Roscosmos (TASS)") == {}


def test_found_in_uses_acronyms_and_forms_the_stemmer_misses() -> None:
    from qa.lexical import TermStatistics, stems

    statistics = TermStatistics(
        ["A crew flew to the International Space Station (ISS).", "Lifting off from Kazakhstan."]
    )
    spelled_out = set(stems("They reached the International Space Station."))
    assert statistics.found_in("iss", spelled_out)
    # "liftoff" and "Kazakh" are unknown to the corpus: their other forms count.
    assert statistics.found_in(stems("liftoff")[0], set(stems("lifting off")))
    assert statistics.found_in(stems("Kazakh")[0], set(stems("Baikonur, Kazakhstan")))
    # A known word needs itself.
    assert not statistics.found_in(stems("crew")[0], set(stems("crews of ships")) - {"crew"})


def test_british_and_american_spellings_meet() -> None:
    from qa.lexical import stems

    assert stems("training centre") == stems("training center")
    assert stems("1.9 metres") == stems("1.9 meters")


@given(st.text(max_size=200))
def test_acronym_long_forms_spell_the_acronym(text: str) -> None:
    from qa.lexical import acronyms

    for acronym, long_form in acronyms(text).items():
        assert acronym and long_form
