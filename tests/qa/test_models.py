"""The answer contract's own behaviour: citation labels and line order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from qa.models import Citation


def citation(start: int, end: int, source: str = "notes/a.txt") -> Citation:
    return Citation(id=1, source=source, start_line=start, end_line=end, quote="q", score=0.5)


def test_a_label_names_the_file_and_its_line_or_lines() -> None:
    assert citation(16, 16).label() == "notes/a.txt:16"
    assert citation(16, 18).label() == "notes/a.txt:16-18"


@given(st.integers(1, 10_000), st.integers(0, 50), st.text(min_size=1, max_size=30))
def test_a_label_reads_back_as_the_citation_lines(start: int, extra: int, source: str) -> None:
    label = citation(start, start + extra, source).label()
    name, _, lines = label.rpartition(":")
    first, _, last = lines.partition("-")
    assert name == source
    assert (int(first), int(last or first)) == (start, start + extra)


def test_lines_out_of_order_are_refused() -> None:
    with pytest.raises(ValidationError):
        citation(5, 4)
