"""Citations: verbatim quotes within their lines, and the [n] markers that refer to them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.chunking import Chunk, chunk_source, split_sentences
from qa.citations import build_citation, markers, quote_in_lines, renumber
from qa.loading import Source, load_corpus
from qa.models import Citation
from qa.store import StoredChunk, _sentence_records, _stored_chunk, chunk_id


def stored(chunk: Chunk, sha256: str = "0" * 64) -> StoredChunk:
    """The chunk as the index hands it back (same metadata the store writes)."""
    meta = {
        "source": chunk.source,
        "start_line": chunk.start_line,
        "end_line": chunk.end_line,
        "chunk_index": chunk.index,
        "sentences": _sentence_records(chunk),
    }
    # Metadata goes through JSON in Chroma; do the same.
    cid = chunk_id(chunk.source, sha256, chunk.index)
    return _stored_chunk(cid, chunk.text, json.loads(json.dumps(meta)))


def stored_chunks(source: Source) -> list[StoredChunk]:
    return [stored(c, source.sha256) for c in chunk_source(source)]


def test_every_seed_sentence_gets_a_citation_verbatim_within_its_lines(seeds_dir: Path) -> None:
    count = 0
    sources = load_corpus(seeds_dir).sources
    for source in sources:
        for chunk in stored_chunks(source):
            for sentence in chunk.sentences:
                citation = build_citation(7, chunk, sentence, 0.5)
                assert citation is not None, (source.path, sentence)
                assert citation.id == 7
                assert citation.source == source.path
                assert (citation.start_line, citation.end_line) == (
                    sentence.start_line,
                    sentence.end_line,
                )
                assert citation.quote == sentence.text
                assert quote_in_lines(citation, source)
                line = source.lines[sentence.start_line - 1]
                assert line[sentence.start_col :].startswith(citation.quote.split("\n")[0])
                count += 1
    assert count == sum(len(split_sentences(s)) for s in sources)


# Made-up prose with repeats: the same sentence on several lines, sentences wrapped over lines,
# abbreviations, and both line ends.
_WORDS = ["The", "mill", "was", "built", "by", "Jonas", "Berg", "in", "1850", "U.S.", "Sept.", "it"]
_SENTENCES = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=6),
    st.sampled_from([".", "!", "?", ".”", ""]),
)
_DOCUMENTS = st.builds(
    lambda parts, newline: "".join(f"{text}{gap}" for text, gap in parts).replace("\n", newline),
    st.lists(
        st.tuples(_SENTENCES, st.sampled_from([" ", "\n", "\n\n", "\n    ", "  \n\t"])),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["\n", "\r\n"]),
)


@settings(max_examples=150, deadline=None)
@given(_DOCUMENTS, st.sampled_from([(0, 100), (40, 200), (160, 1000)]))
def test_every_sentence_gets_a_citation_verbatim_within_its_lines(
    text: str, bounds: tuple[int, int]
) -> None:
    source = Source.from_text("doc.txt", text)
    sentences = split_sentences(source)
    cited = []
    for chunk in [stored(c, source.sha256) for c in chunk_source(source, *bounds)]:
        for sentence in chunk.sentences:
            citation = build_citation(3, chunk, sentence, 0.5)
            assert citation is not None, sentence
            assert (citation.source, citation.start_line, citation.end_line) == (
                "doc.txt",
                sentence.start_line,
                sentence.end_line,
            )
            assert citation.quote == sentence.text
            assert quote_in_lines(citation, source)
            cited.append((citation.start_line, citation.quote))
    # Every sentence once, each on its own line even when its text repeats an earlier one.
    assert cited == [(s.start_line, s.text) for s in sentences]


def test_multi_line_sentence_is_cited_over_all_its_lines() -> None:
    source = Source.from_text(
        "wrap.txt", "Intro line here.\nThe crew will launch\non a Soyuz rocket from Baikonur.\n"
    )
    (chunk,) = stored_chunks(source)
    sentence = chunk.sentences[1]
    citation = build_citation(1, chunk, sentence, 0.9)
    assert citation is not None
    assert (citation.start_line, citation.end_line) == (2, 3)
    assert citation.quote == "The crew will launch\non a Soyuz rocket from Baikonur."
    assert quote_in_lines(citation, source)


def test_score_is_clamped_and_rounded() -> None:
    source = Source.from_text("s.txt", "One sentence here.\n")
    (chunk,) = stored_chunks(source)
    (sentence,) = chunk.sentences
    scores = [build_citation(1, chunk, sentence, s) for s in (1.7, -0.3, 0.123456)]
    assert [c.score for c in scores if c is not None] == [1.0, 0.0, 0.1235]


@pytest.fixture
def sample_chunk() -> tuple[Source, StoredChunk]:
    """A chunk of several sentences over several lines (text of the tests' own)."""
    source = Source.from_text(
        "mill.txt",
        "The mill on the hill was built in 1850. It ground flour\n"
        "for the village until 1962.\n"
        "Today it is a museum. Visitors can climb to the cap.\n",
    )
    (chunk,) = stored_chunks(source)
    assert len(chunk.sentences) >= 3 and chunk.sentences[-1].start_line > 1
    return source, chunk


@pytest.mark.parametrize("shift", [-1, 1, 2])
def test_sentence_whose_start_line_disagrees_with_its_text_is_dropped(
    sample_chunk: tuple[Source, StoredChunk], shift: int
) -> None:
    _, chunk = sample_chunk
    sentence = chunk.sentences[-1]
    assert build_citation(1, chunk, sentence, 0.9) is not None
    wrong = dataclasses.replace(
        sentence, start_line=sentence.start_line + shift, end_line=sentence.end_line + shift
    )
    assert build_citation(1, chunk, wrong, 0.9) is None


def test_sentence_whose_end_line_disagrees_is_dropped(
    sample_chunk: tuple[Source, StoredChunk],
) -> None:
    _, chunk = sample_chunk
    sentence = chunk.sentences[0]
    wrong = dataclasses.replace(sentence, end_line=sentence.end_line + 1)
    assert build_citation(1, chunk, wrong, 0.9) is None


def test_sentence_not_in_its_chunk_or_padded_is_dropped(
    sample_chunk: tuple[Source, StoredChunk],
) -> None:
    _, chunk = sample_chunk
    sentence = chunk.sentences[0]
    for text in ("Not in the chunk.", ""):
        assert build_citation(1, chunk, dataclasses.replace(sentence, text=text), 0.9) is None
    padded = dataclasses.replace(sentence, text=" " + sentence.text)
    assert build_citation(1, chunk, padded, 0.9) is None


@pytest.mark.parametrize(
    "text",
    [
        "The crew launched on Tuesday morning.\nThe crew launched on Tuesday morning.\n",
        "Reuters quoted him: “The crew launched on Tuesday.”\nThe crew launched on Tuesday.\n",
    ],
)
def test_sentence_repeated_earlier_in_its_chunk_keeps_its_own_line(text: str) -> None:
    source = Source.from_text("repeat.txt", text)
    (chunk,) = stored_chunks(source)
    last = chunk.sentences[-1]
    assert last.start_line == 2
    citation = build_citation(1, chunk, last, 0.9)
    assert citation is not None
    assert citation.start_line == 2
    assert quote_in_lines(citation, source)


# quote_in_lines


def _citation(**fields: object) -> Citation:
    base: dict[str, object] = {
        "id": 1,
        "source": "doc.txt",
        "start_line": 2,
        "end_line": 2,
        "quote": "second line",
        "score": 0.5,
    }
    return Citation.model_validate(base | fields)


_DOC = Source.from_text("doc.txt", "First line.\nThe second line.\nThe third line.\n")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, True),
        ({"quote": "The second line."}, True),
        ({"start_line": 1, "end_line": 3, "quote": "line.\nThe second line.\nThe"}, True),
        ({"start_line": 2, "end_line": 3, "quote": "second line.\nThe third"}, True),
        ({"start_line": 1, "end_line": 1}, False),  # in the file, not in the cited line
        ({"start_line": 3, "end_line": 3}, False),
        ({"quote": "second  line"}, False),  # not verbatim
        ({"quote": "Second line"}, False),
        ({"quote": "second line.\nThe third"}, False),  # runs past the cited lines
        ({"quote": ""}, False),
        ({"source": "other.txt"}, False),
        ({"start_line": 3, "end_line": 4}, False),  # past the end of the file
        ({"start_line": 9, "end_line": 9}, False),
    ],
)
def test_quote_in_lines(fields: dict[str, object], expected: bool) -> None:
    assert quote_in_lines(_citation(**fields), _DOC) is expected


def test_inverted_lines_are_refused_and_never_verify() -> None:
    with pytest.raises(ValueError, match="end_line"):
        _citation(start_line=3, end_line=2)
    inverted = _citation().model_copy(update={"start_line": 3, "end_line": 2})
    assert quote_in_lines(inverted, _DOC) is False


# markers and renumber


def test_markers_in_order_of_first_use() -> None:
    assert markers("a [1] b [3] [1]") == [1, 3]
    assert markers("No citations here.") == []
    assert markers("[2][2] then [10], [x] and [1000] are not markers") == [2, 10]


# Filler text holds no brackets, so it cannot form a marker of its own.
_filler = st.text(st.sampled_from("abc .,;\n()1234567890"), max_size=8)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_filler, st.integers(0, 999)), max_size=12), _filler)
def test_markers_property(pieces: list[tuple[str, int]], tail: str) -> None:
    text = "".join(f"{filler}[{n}]" for filler, n in pieces) + tail
    expected = list(dict.fromkeys(n for _, n in pieces))
    assert markers(text) == expected


_citations = st.tuples(st.integers(1, 50), st.integers(0, 10)).flatmap(
    lambda lines: st.builds(
        Citation,
        id=st.integers(1, 10_000),
        source=st.sampled_from(["a.txt", "b/c.md"]),
        start_line=st.just(lines[0]),
        end_line=st.just(lines[0] + lines[1]),
        quote=st.text(max_size=20),
        score=st.floats(0, 1),
    )
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_citations, max_size=8))
def test_renumber_numbers_in_order_and_keeps_everything_else(citations: list[Citation]) -> None:
    before = [c.model_copy() for c in citations]
    out = renumber(citations)
    assert [c.id for c in out] == list(range(1, len(citations) + 1))
    for old, new in zip(citations, out, strict=True):
        assert new.model_dump(exclude={"id"}) == old.model_dump(exclude={"id"})
    assert citations == before  # the input is not changed
