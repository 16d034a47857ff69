"""Reading the corpus: exact lines whatever the line endings, and files that cannot be used."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.errors import CorpusNotFoundError
from qa.loading import Source, decode_document, load_corpus

# Left out of generated lines: NUL (it marks a binary file), the characters that str.splitlines()
# or the loader treat as line breaks, and U+FEFF (at the start of a file, a byte-order mark).
_BREAKS = "\x00\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\ufeff"

_PIECES = [
    "“Challenge,”",
    "‘firsts’",
    "café",
    "Gagarin’s",
    "naïve",
    "Шипенко",
    "宇宙の映画",
    "🚀",
    "🎬✨",
    "    indented",
    "\tTabbed",
    " ",
    "\t",
    "",
    "U.S.",
    "Oct. 5, 2021.",
    "— well,",
    "x",
]
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters=_BREAKS)
_line = st.one_of(
    st.sampled_from(_PIECES),
    st.text(_chars, max_size=30),
    st.lists(st.sampled_from(_PIECES), max_size=5).map(" ".join),
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[list[str], str, bool]:
    """(lines, text, exact): lines joined by \\n, \\r\\n, \\r or a mix, with or without a final
    terminator; ``exact`` when the text's lines are the drawn lines themselves."""
    pool = draw(st.lists(_line, min_size=1, max_size=8))
    # Drawing from a small pool repeats identical lines (repeated captions).
    lines = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=25))
    style = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    if style == "mixed":
        n = len(lines)
        seps = draw(st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=n, max_size=n))
    else:
        seps = [style] * len(lines)
    trailing = draw(st.booleans())
    text = "".join(line + sep for line, sep in zip(lines, seps, strict=True))
    if not trailing:
        text = text[: len(text) - len(seps[-1])]
    # "\r" then an empty line ended by "\n" reads as one "\r\n": the lines are not the drawn ones.
    merged = any(
        seps[i] == "\r" and lines[i + 1] == "" and seps[i + 1].startswith("\n")
        for i in range(len(lines) - 1)
    )
    return lines, text, trailing and not merged


def _expected_lines(text: str) -> list[str]:
    # The generated lines hold no other characters that splitlines() breaks on.
    return text.splitlines() or [""]


@settings(max_examples=300, deadline=None)
@given(documents(), st.booleans())
def test_lines_match_splitlines_whatever_the_endings_and_bom(
    doc: tuple[list[str], str, bool], bom: bool
) -> None:
    lines, text, exact = doc
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    decoded = decode_document(data)
    assert decoded == text  # the BOM is not part of line 1
    source = Source.from_text("doc.txt", decoded, hashlib.sha256(data).hexdigest())
    assert list(source.lines) == _expected_lines(text)
    if exact:
        assert list(source.lines) == lines
    assert source.text == "\n".join(source.lines)
    assert source.sha256 == hashlib.sha256(data).hexdigest()
    assert all("\r" not in line and "\n" not in line for line in source.lines)


def _naive_position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1)


@settings(max_examples=200, deadline=None)
@given(documents())
def test_position_agrees_with_naive_count_for_every_offset(
    doc: tuple[list[str], str, bool],
) -> None:
    _, text, _ = doc
    source = Source.from_text("doc.txt", text)
    for offset in range(len(source.text) + 1):
        line, col = source.position(offset)
        assert (line, col) == _naive_position(source.text, offset)
        assert source.line_starts[line - 1] + col == offset
        assert col <= len(source.lines[line - 1])
    for bad in (-1, len(source.text) + 1):
        with pytest.raises(ValueError):
            source.position(bad)


@settings(max_examples=200, deadline=None)
@given(documents())
def test_span_joins_the_lines(doc: tuple[list[str], str, bool]) -> None:
    _, text, _ = doc
    source = Source.from_text("doc.txt", text)
    lines = _expected_lines(text)
    n = len(lines)
    for a in range(1, n + 1):
        for b in range(a, n + 1):
            assert source.span(a, b) == "\n".join(lines[a - 1 : b])
    with pytest.raises(ValueError):
        source.span(0, 1)
    with pytest.raises(ValueError):
        source.span(1, n + 1)
    if n >= 2:
        with pytest.raises(ValueError):
            source.span(2, 1)


def test_from_text_examples() -> None:
    lines = ("one", "two", "three", "four")
    assert Source.from_text("a", "one\r\ntwo\rthree\nfour\n").lines == lines
    assert Source.from_text("a", "one\n\n").lines == ("one", "")
    assert Source.from_text("a", "\n\nthree").lines == ("", "", "three")
    assert Source.from_text("a", "one\r\n").text == "one"
    # \r\n is one terminator, \n\r two.
    assert Source.from_text("a", "one\n\rtwo").lines == ("one", "", "two")
    # Only \n, \r\n and \r end lines (as for sed and editors), not what str.splitlines() adds.
    odd = "form\x0cfeed\x0bvt\x85nel\u2028ls\u2029ps\x1cfs"
    assert Source.from_text("a", odd + "\nnext\n").lines == (odd, "next")


# load_corpus


def test_missing_folder_raises_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(CorpusNotFoundError) as info:
        load_corpus(missing)
    assert str(missing) in info.value.message
    assert info.value.hint


def test_a_file_instead_of_a_folder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_text("hello\n", encoding="utf-8")
    with pytest.raises(CorpusNotFoundError) as info:
        load_corpus(path)
    assert str(path) in info.value.message


def test_binary_latin1_and_empty_files_are_skipped_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "good.txt").write_text("A good file.\nSecond line.\n", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9\n")
    (tmp_path / "empty.md").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("  \n\t\n\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="qa.loading"):
        corpus = load_corpus(tmp_path)
    assert [s.path for s in corpus.sources] == ["good.txt"]
    assert corpus.sources[0].lines == ("A good file.", "Second line.")
    reasons = {s.path: s.reason for s in corpus.skipped}
    assert set(reasons) == {"image.txt", "latin1.txt", "empty.md", "blank.txt"}
    assert "binary" in reasons["image.txt"] or "UTF-8" in reasons["image.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "empty" in reasons["empty.md"]
    for name in reasons:
        assert name in caplog.text


def test_hidden_files_and_folders_and_other_suffixes_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "visible.txt").write_text("Visible.\n", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("Hidden.\n", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.md").write_text("Hidden folder.\n", encoding="utf-8")
    (tmp_path / "script.py").write_text("print('not a document')\n", encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert [s.path for s in corpus.sources] == ["visible.txt"]
    assert corpus.skipped == []


def test_subfolders_load_with_posix_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "top.md").write_text("Top.\n", encoding="utf-8")
    (tmp_path / "a" / "one.txt").write_text("One.\n", encoding="utf-8")
    (tmp_path / "a" / "b" / "two.rst").write_text("Two.\r\nLines.\r\n", encoding="utf-8")
    corpus = load_corpus(tmp_path)
    by_path = {s.path: s for s in corpus.sources}
    assert set(by_path) == {"top.md", "a/one.txt", "a/b/two.rst"}
    assert by_path["a/b/two.rst"].lines == ("Two.", "Lines.")
    assert corpus.root == tmp_path


def test_bom_is_not_part_of_line_one_but_is_hashed(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbfFirst line\r\nSecond\r\n"
    (tmp_path / "bom.txt").write_bytes(data)
    (source,) = load_corpus(tmp_path).sources
    assert source.lines == ("First line", "Second")
    assert source.sha256 == hashlib.sha256(data).hexdigest()


def test_seeds_load_with_their_line_counts(seeds_dir: Path) -> None:
    corpus = load_corpus(seeds_dir)
    files = sorted(p.name for p in seeds_dir.glob("*.txt"))
    assert [s.path for s in corpus.sources] == files
    assert len(corpus.sources) == 5
    assert corpus.skipped == []
    for source in corpus.sources:
        raw = (seeds_dir / source.path).read_text(encoding="utf-8")
        assert len(source.lines) == len(raw.splitlines())
        assert list(source.lines) == raw.splitlines()


def test_near_identical_seed_lines_stay_distinct(seeds_dir: Path) -> None:
    source = next(s for s in load_corpus(seeds_dir).sources if s.path.startswith("000_"))
    line19, line20 = source.lines[18], source.lines[19]
    assert line19.startswith("Rivaly in space has been the stuff of film scripts")
    assert line20.startswith("Rivaly in space has been the stuff of film scripts")
    assert line19 != line20
    assert line20.endswith("AFP / Dimitar DILKOFF")
    assert source.span(19, 19) == line19
