"""The generative prompt: numbered sources labelled with file and lines, and the rules."""

from __future__ import annotations

from qa import prompts
from qa.engine import Engine
from qa.models import NOT_IN_SOURCES


def test_sources_are_numbered_and_labelled_with_file_and_lines(seed_engine: Engine) -> None:
    evidence = seed_engine.retrieve("Who directs Challenge?", 4)[0]
    system, user = prompts.build_messages("Who directs Challenge?", evidence.chunks)
    assert system == {"role": "system", "content": prompts.SYSTEM_PROMPT}
    assert user["role"] == "user"
    text = user["content"]
    positions = []
    for number, hit in enumerate(evidence.chunks, start=1):
        chunk = hit.chunk
        block = (
            f"[{number}] {chunk.source}, lines {chunk.start_line}-{chunk.end_line}:\n{chunk.text}"
        )
        assert block in text
        positions.append(text.index(block))
    assert positions == sorted(positions)
    assert "[5]" not in text
    assert text.index("Question: Who directs Challenge?") > positions[-1]


def test_the_rules_ask_for_markers_sources_only_and_a_plain_refusal() -> None:
    rules = prompts.SYSTEM_PROMPT
    assert "only" in rules and "square brackets" in rules and "[1]" in rules
    assert rules.rstrip().endswith(NOT_IN_SOURCES)


def test_no_sources_gives_an_empty_sources_block() -> None:
    assert prompts.format_sources([]) == ""
