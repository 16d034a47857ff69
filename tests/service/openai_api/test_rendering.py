"""An answer as chat text: markers kept, a sources list (or closest passages) after it, what a
stream appends to an LLM's draft, and earlier turns read back without their sources list."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qa.models import Answer, AnsweredMode, Citation
from service.openai_api.rendering import (
    CHECKED_HEADING,
    CLOSEST_HEADING,
    FALLBACK_NOTE,
    QUOTE_CHARS,
    SOURCES_HEADING,
    chat_content,
    count_tokens,
    stream_ending,
    turn_text,
)

QUOTE = "The mill was built by Jonas Berg in 1850."


def citation(n: int = 1, quote: str = QUOTE, start: int = 4, end: int = 4) -> Citation:
    return Citation(
        id=n, source="notes/mill.txt", start_line=start, end_line=end, quote=quote, score=0.8
    )


def answer(
    text: str = "Jonas Berg built the mill [1].",
    citations: list[Citation] | None = None,
    answered: bool = True,
    mode: AnsweredMode = "extractive",
) -> Answer:
    return Answer(
        question="Who built the mill?",
        answer=text,
        answered=answered,
        citations=[citation()] if citations is None else citations,
        mode=mode,
    )


def test_an_answer_is_its_text_then_its_sources_with_file_lines_and_quote() -> None:
    two = [citation(1), citation(2, "It still grinds flour.", 6, 7)]
    content = chat_content(answer("Jonas Berg built it [1]. It still works [2].", two))
    assert content == (
        "Jonas Berg built it [1]. It still works [2].\n\n"
        f"{SOURCES_HEADING}\n"
        f'- [1] notes/mill.txt:4: "{QUOTE}"\n'
        '- [2] notes/mill.txt:6-7: "It still grinds flour."'
    )


def test_a_refusal_lists_its_passages_as_closest_not_as_sources() -> None:
    content = chat_content(answer("The sources don't say.", answered=False))
    assert CLOSEST_HEADING in content and SOURCES_HEADING not in content
    assert chat_content(answer("The sources don't say.", [], False)) == "The sources don't say."


def test_a_fallback_says_so() -> None:
    assert FALLBACK_NOTE in chat_content(answer(mode="extractive-fallback"))
    assert FALLBACK_NOTE not in chat_content(answer())


def test_long_quotes_are_cut_in_the_list_and_links_follow_the_public_url() -> None:
    long = citation(quote="word " * 100)
    content = chat_content(answer(citations=[long]), public_url="https://qa.example.org")
    line = content.splitlines()[-1]
    assert line.startswith(
        "- [1] [notes/mill.txt:4](https://qa.example.org/files/notes/mill.txt#L4)"
    )
    quoted = line.split(': "', 1)[1].rstrip('"')
    assert len(quoted) <= QUOTE_CHARS and quoted.endswith("…")


def test_a_stream_appends_the_sources_when_the_draft_survived_the_checks() -> None:
    checked = answer()
    assert (
        stream_ending("Jonas Berg built the mill [1].", checked)
        == chat_content(checked)[len(checked.answer) :]
    )


def test_a_stream_appends_the_checked_answer_when_the_checks_changed_the_draft() -> None:
    checked = answer()
    ending = stream_ending("Jonas Berg built the mill [3]. He was a king [4].", checked)
    assert ending.startswith(f"\n\n---\n{CHECKED_HEADING}\n\n")
    assert ending.endswith(chat_content(checked))


def test_a_stream_with_no_draft_sends_the_whole_answer() -> None:
    assert stream_ending(" ", answer()) == chat_content(answer())


@given(
    text=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80),
    quotes=st.lists(st.text(min_size=1, max_size=60), max_size=3),
    answered=st.booleans(),
)
def test_an_earlier_answer_reads_back_as_its_text(
    text: str, quotes: list[str], answered: bool
) -> None:
    cited = [citation(n, q) for n, q in enumerate(quotes, start=1)]
    assert turn_text(chat_content(answer(text, cited, answered))) == text


def test_tokens_are_counted() -> None:
    assert count_tokens([]) == 0
    assert 5 <= count_tokens(["Jonas Berg built the mill in 1850."]) <= 15
    assert count_tokens(["a b", "c d"]) == count_tokens(["a b"]) + count_tokens(["c d"])
