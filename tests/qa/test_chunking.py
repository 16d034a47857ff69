"""Sentences and chunks: exact offsets and lines, nothing lost, nothing straddling documents."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.chunking import Chunk, Sentence, chunk_source, split_sentences
from qa.loading import Source, load_corpus

_WORDS = [
    "the",
    "crew",
    "launched",
    "Soyuz",
    "MS-19",
    "on",
    "Oct.",
    "Sept.",
    "5,",
    "2021",
    "U.S.",
    "Dr.",
    "J.",
    "e.g.",
    "etc.",
    "a.m.",
    "“Challenge,”",
    "‘firsts’",
    "(ISS)",
    "café",
    "Шипенко",
    "宇宙",
    "🚀",
    "—",
    "said:",
    "well,",
    "12-day",
    "1.9",
    "metres",
    "Peresild",
    "it’s",
    "3",
]
_ENDINGS = ["", ".", ".", "!", "?", "…", ".”", "?’", ".)", ":", ";", "...", "!!"]


@st.composite
def sentences(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=12))
    if draw(st.booleans()):
        words[0] = words[0].capitalize()
    return " ".join(words) + draw(st.sampled_from(_ENDINGS))


@st.composite
def paragraphs(draw: st.DrawFn) -> str:
    parts = draw(st.lists(sentences(), min_size=1, max_size=6))
    text = parts[0]
    for part in parts[1:]:
        # Sentences follow each other on one line, or prose is hard-wrapped onto the next.
        text += draw(st.sampled_from([" ", "  ", "\n", "\n  ", " \t", "\n\t"])) + part
    indent = draw(st.sampled_from(["", "", "    ", "\t", " "]))
    trailing = draw(st.sampled_from(["", "", " ", "\t  "]))
    return indent + text + trailing


@st.composite
def documents(draw: st.DrawFn) -> str:
    paras = draw(st.lists(paragraphs(), min_size=1, max_size=8))
    text = paras[0]
    for para in paras[1:]:
        text += draw(st.sampled_from(["\n\n", "\n\n\n", "\n   \n", "\n\t\n\n"])) + para
    text = draw(st.sampled_from(["", "\n", "\n\n  \n"])) + text + draw(st.sampled_from(["", "\n"]))
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text


def _text_at(source: Source, start_line: int, start_col: int, end_line: int, end_col: int) -> str:
    """The text between two (line, column) positions, read from the source's lines."""
    if start_line == end_line:
        return source.lines[start_line - 1][start_col:end_col]
    return "\n".join(
        [
            source.lines[start_line - 1][start_col:],
            *source.lines[start_line : end_line - 1],
            source.lines[end_line - 1][:end_col],
        ]
    )


def _check_sentences(source: Source, found: list[Sentence]) -> None:
    for s in found:
        assert s.source == source.path
        assert s.text
        assert s.text == s.text.strip()
        assert s.text == source.text[s.start : s.end]
        assert (s.start_line, s.start_col) == source.position(s.start)
        assert (s.end_line, s.end_col) == source.position(s.end)
        assert _text_at(source, s.start_line, s.start_col, s.end_line, s.end_col) == s.text
        assert s.text in source.span(s.start_line, s.end_line)
    for a, b in itertools.pairwise(found):
        assert a.end <= b.start, (a, b)
    # Nothing but whitespace falls between (or outside) sentences.
    covered = bytearray(len(source.text))
    for s in found:
        covered[s.start : s.end] = b"\x01" * (s.end - s.start)
    lost = [(i, ch) for i, ch in enumerate(source.text) if not ch.isspace() and not covered[i]]
    assert not lost


def _check_chunks(source: Source, chunks: list[Chunk], all_sentences: list[Sentence]) -> None:
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.source == source.path
        assert chunk.sentences
        assert all(s.source == source.path for s in chunk.sentences)
        assert chunk.text == source.text[chunk.start : chunk.end]
        assert chunk.start == chunk.sentences[0].start
        assert chunk.end == chunk.sentences[-1].end
        assert all(chunk.start <= s.start <= s.end <= chunk.end for s in chunk.sentences)
        assert chunk.start_line == source.position(chunk.start)[0]
        assert chunk.end_line == source.position(chunk.end)[0]
        assert chunk.text in source.span(chunk.start_line, chunk.end_line)
    for a, b in itertools.pairwise(chunks):
        assert a.end <= b.start
    # Chunks hold every sentence once, in order.
    assert [s for c in chunks for s in c.sentences] == all_sentences


@settings(max_examples=200, deadline=None)
@given(documents(), st.sampled_from([(0, 100), (40, 200), (160, 1000), (500, 600)]))
def test_sentences_and_chunks_map_exactly_to_the_text(text: str, bounds: tuple[int, int]) -> None:
    source = Source.from_text("doc.txt", text)
    found = split_sentences(source)
    assert found
    _check_sentences(source, found)
    chunks = chunk_source(source, *bounds)
    _check_chunks(source, chunks, found)


@settings(max_examples=25, deadline=None)
@given(st.lists(documents(), min_size=2, max_size=4))
def test_chunks_never_straddle_documents(texts: list[str]) -> None:
    sources = [Source.from_text(f"doc{i}.txt", text) for i, text in enumerate(texts)]
    for source in sources:
        chunks = chunk_source(source, 160, 1000)
        assert chunks
        for chunk in chunks:
            assert chunk.source == source.path
            assert chunk.end <= len(source.text)
            assert chunk.text == source.text[chunk.start : chunk.end]


@settings(max_examples=100, deadline=None)
@given(documents())
def test_a_crlf_copy_gives_the_same_lines_sentences_and_chunks(text: str) -> None:
    raw = text.replace("\r\n", "\n")
    lf = Source.from_text("doc.txt", raw)
    crlf = Source.from_text("doc.txt", raw.replace("\n", "\r\n"))
    assert crlf.lines == lf.lines
    assert split_sentences(crlf) == split_sentences(lf)
    assert chunk_source(crlf) == chunk_source(lf)


# Examples from the seeds (real prose; the parsers' output depends on the text alone).


@pytest.fixture(scope="module")
def seeds(seeds_dir: Path) -> dict[str, Source]:
    return {s.path[:3]: s for s in load_corpus(seeds_dir).sources}


def _on_line(source: Source, line: int) -> list[Sentence]:
    return [s for s in split_sentences(source) if s.start_line == line]


def test_repeated_captions_are_distinct_sentences_with_their_own_lines(
    seeds: dict[str, Source],
) -> None:
    source = seeds["004"]
    assert source.lines[4] == source.lines[7]  # lines 5 and 8 repeat the caption
    (first,) = _on_line(source, 5)
    (second,) = _on_line(source, 8)
    assert first.text == second.text == source.lines[4]
    assert (first.start_line, first.end_line) == (5, 5)
    assert (second.start_line, second.end_line) == (8, 8)
    assert first.start != second.start
    _check_sentences(source, split_sentences(source))


def test_near_identical_lines_are_distinct_sentences(seeds: dict[str, Source]) -> None:
    source = seeds["000"]
    (line19,) = _on_line(source, 19)
    (line20,) = _on_line(source, 20)
    assert line19.text == source.lines[18]
    assert line20.text == source.lines[19]
    assert line19.end_line == 19
    assert line20.end_line == 20


def test_abbreviations_do_not_end_sentences(seeds: dict[str, Source]) -> None:
    source = seeds["000"]
    (sept,) = _on_line(source, 24)  # "On Sept. 21, United Nations ..." is one sentence
    assert sept.text.startswith("On Sept. 21, United Nations Secretary General")
    assert sept.text == source.lines[23]
    first = _on_line(source, 15)[0]  # "... under personal U.S. and EU personal sanctionse, ..."
    assert (
        first.text == "Rogozin, who is under personal U.S. and EU personal sanctionse, is "
        'considered a strong supporter of "Challenge."'
    )


def test_leading_spaces_are_not_part_of_the_sentence(seeds: dict[str, Source]) -> None:
    source = seeds["002"]
    assert source.lines[7].startswith("    There have been")
    first = _on_line(source, 8)[0]
    assert first.start_col == 4
    assert first.text.startswith("There have been countless movies")
    assert source.lines[7][first.start_col :].startswith(first.text)


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_crlf_copy_gives_the_same_sentences_and_lines(
    seeds: dict[str, Source], seeds_dir: Path, prefix: str
) -> None:
    lf = seeds[prefix]
    raw = (seeds_dir / lf.path).read_text(encoding="utf-8")
    assert "\r" not in raw
    crlf = Source.from_text(lf.path, raw.replace("\n", "\r\n"))
    assert crlf.lines == lf.lines
    assert split_sentences(crlf) == split_sentences(lf)
    assert chunk_source(crlf) == chunk_source(lf)
    _check_sentences(lf, split_sentences(lf))
    _check_chunks(lf, chunk_source(lf), split_sentences(lf))
