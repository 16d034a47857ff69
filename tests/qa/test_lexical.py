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
