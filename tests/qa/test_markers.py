"""Reading [n] markers and sentences out of an LLM's answer, however the model writes them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.markers import MARKER_GROUP, Claim, parse_claims


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Shipenko directs it [1].", [Claim("Shipenko directs it.", (1,))]),
        ("Shipenko directs it. [1]", [Claim("Shipenko directs it.", (1,))]),
        ("A is so [1][3]. B is so [2].", [Claim("A is so.", (1, 3)), Claim("B is so.", (2,))]),
        ("A is so [1, 3].", [Claim("A is so.", (1, 3))]),
        ("A is so [1; 3].", [Claim("A is so.", (1, 3))]),
        ("A is so [Source 2].", [Claim("A is so.", (2,))]),
        ("A is so [sources 1 and 4].", [Claim("A is so.", (1, 4))]),
        ("A [1] and B [2] agree.", [Claim("A and B agree.", (1, 2))]),
        ("No marker at all.", [Claim("No marker at all.", ())]),
        ("Repeated [2] twice [2].", [Claim("Repeated twice.", (2,))]),
        ("Out of range [0] and [5] and [2021].", [Claim("Out of range and and.", (0, 5, 2021))]),
        # abbreviations, decimals and initials do not end a sentence
        (
            "Dr. Smith said 3.5 million [1]. Next one [2].",
            [
                Claim("Dr. Smith said 3.5 million.", (1,)),
                Claim("Next one.", (2,)),
            ],
        ),
        (
            "The U.S. team lost [3]. It won [4].",
            [
                Claim("The U.S. team lost.", (3,)),
                Claim("It won.", (4,)),
            ],
        ),
        # a marker alone on the next line cites the sentence before it
        ("It launched on October 5.\n[2]", [Claim("It launched on October 5.", (2,))]),
        # list items are sentences; their bullets are not part of them
        (
            "- one thing [1]\n* another [2]\n3. third [3]",
            [
                Claim("one thing", (1,)),
                Claim("another", (2,)),
                Claim("third", (3,)),
            ],
        ),
        ("", []),
        ("[1]", []),
        ("   \n\n  ", []),
    ],
)
def test_claims_and_their_markers(text: str, expected: list[Claim]) -> None:
    assert parse_claims(text) == expected


words = st.text(alphabet="abcdefghij", min_size=1, max_size=8)
# The last word is fixed: a sentence ending in an initial or abbreviation ("J.", "fig.") does
# not end there, by design.
sentences = st.lists(words, max_size=6).map(lambda ws: " ".join(["Xx", *ws, "zork"]))
numbers = st.lists(st.integers(min_value=0, max_value=10_000), max_size=4, unique=True)
styles = st.sampled_from(["before", "after", "comma", "source"])


def render(text: str, markers: list[int], style: str) -> str:
    if not markers:
        return text + "."
    if style == "before":
        return text + " " + "".join(f"[{n}]" for n in markers) + "."
    if style == "after":
        return text + ". " + " ".join(f"[{n}]" for n in markers)
    if style == "comma":
        return text + " [" + ", ".join(str(n) for n in markers) + "]."
    return text + " " + "".join(f"[Source {n}]" for n in markers) + "."


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(sentences, numbers, styles), min_size=1, max_size=6))
def test_every_marker_is_read_with_its_own_sentence(
    written: list[tuple[str, list[int], str]],
) -> None:
    text = " ".join(render(sentence, markers, style) for sentence, markers, style in written)
    claims = parse_claims(text)
    assert [c.markers for c in claims] == [tuple(m) for _, m, _ in written]
    assert [c.text for c in claims] == [f"{s}." for s, _, _ in written]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=st.sampled_from("ab .,!?[]0123456789\n-*Sourcesand;é"), max_size=120))
def test_any_text_parses_to_claims_without_markers_in_them(text: str) -> None:
    for claim in parse_claims(text):
        assert not MARKER_GROUP.search(claim.text)
        assert claim.text == claim.text.strip() and claim.text
        assert len(set(claim.markers)) == len(claim.markers)
