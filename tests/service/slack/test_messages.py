"""Block Kit messages: the answer, each citation as source:start-end with its verbatim quote,
a plain refusal, and Slack's size limits kept."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from qa.models import Answer, Citation
from service.slack.messages import (
    FEEDBACK_HELPFUL,
    FEEDBACK_NOT_HELPFUL,
    HELP,
    answer_message,
    error_message,
    help_message,
)


def citation(
    n: int = 1, quote: str = "The crew launched on October 5, 2021.", **kw: object
) -> Citation:
    fields: dict[str, object] = {
        "id": n,
        "source": "004_b25d8b9e867eeac6.txt",
        "start_line": 16,
        "end_line": 16,
        "quote": quote,
        "score": 0.8,
    }
    fields.update(kw)
    return Citation.model_validate(fields)


def answer(*citations: Citation, answered: bool = True, text: str = "") -> Answer:
    return Answer(
        question="When did the crew launch?",
        answer=text
        or ("The crew launched on October 5, 2021 [1]." if answered else "The sources don't say."),
        answered=answered,
        citations=list(citations),
        mode="extractive",
    )


def sections(blocks: list[dict[str, object]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]  # type: ignore[index]


def test_an_answer_shows_its_text_then_each_citation_with_its_quote() -> None:
    message = answer_message(answer(citation(1), citation(2, start_line=3, end_line=4)), "f1")

    texts = sections(message.blocks)
    assert texts[0] == "The crew launched on October 5, 2021 [1]."
    assert (
        texts[1] == "*[1]* `004_b25d8b9e867eeac6.txt:16`\n> The crew launched on October 5, 2021."
    )
    assert texts[2].startswith("*[2]* `004_b25d8b9e867eeac6.txt:3-4`")
    assert message.text == (
        "The crew launched on October 5, 2021 [1].\n"
        "Sources: 004_b25d8b9e867eeac6.txt:16, 004_b25d8b9e867eeac6.txt:3-4"
    )
    actions = message.blocks[-1]
    assert actions["type"] == "actions"
    assert [e["action_id"] for e in actions["elements"]] == [FEEDBACK_HELPFUL, FEEDBACK_NOT_HELPFUL]
    assert {e["value"] for e in actions["elements"]} == {"f1"}


def test_slack_markup_in_sources_is_escaped() -> None:
    message = answer_message(answer(citation(quote="<!channel> A & B > C")), None)

    assert "&lt;!channel&gt; A &amp; B &gt; C" in sections(message.blocks)[1]
    assert all(b["type"] != "actions" for b in message.blocks)


def test_a_multi_line_quote_is_quoted_line_by_line() -> None:
    message = answer_message(answer(citation(quote="first\nsecond", end_line=17)), None)
    assert sections(message.blocks)[1].endswith("\n> first\n> second")


def test_a_public_url_turns_labels_into_links_to_the_cited_lines() -> None:
    cited = citation(source="notes/a file.txt", start_line=3, end_line=5)
    message = answer_message(answer(cited), None, public_url="https://qa.example.com")

    assert (
        "<https://qa.example.com/files/notes/a%20file.txt#L3-L5|notes/a file.txt:3-5>"
        in sections(message.blocks)[1]
    )


def test_a_refusal_says_so_plainly_and_labels_the_closest_passages() -> None:
    message = answer_message(answer(citation(), answered=False), "f1")

    assert message.text == "The sources don't say."
    assert sections(message.blocks)[0] == "*The sources don't say.*"
    assert "do not answer it" in json.dumps(message.blocks)


def test_help_and_errors_are_plain_sentences() -> None:
    assert help_message().text == HELP
    error = error_message("The index is empty.", "Run `qa ingest`.")
    assert error.text == "I couldn't answer: The index is empty. Run `qa ingest`."
    assert error.blocks[0]["text"]["text"].startswith(":warning:")


@given(
    quotes=st.lists(st.text(min_size=1, max_size=5_000), min_size=0, max_size=60),
    text=st.text(min_size=1, max_size=5_000),
    answered=st.booleans(),
)
def test_every_message_keeps_within_block_kit_limits(
    quotes: list[str], text: str, answered: bool
) -> None:
    cited = [citation(n + 1, quote=q) for n, q in enumerate(quotes)]
    message = answer_message(answer(*cited, answered=answered, text=text), "f1", "https://q.io")

    assert len(message.blocks) <= 50
    assert all(len(s) <= 3_000 for s in sections(message.blocks))
    shown = min(len(quotes), 10)
    assert sum(1 for s in sections(message.blocks) if s.startswith("*[")) == shown
    if len(quotes) > shown:
        assert f"…and {len(quotes) - shown} more." in json.dumps(message.blocks, ensure_ascii=False)
