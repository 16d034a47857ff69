"""The generative answerer: whatever the LLM writes, only sentences that the lines they cite
support are kept, cited verbatim; out-of-range markers never become citations; nothing
supported is a refusal. The LLM is the scripted stand-in, the evidence the real seed index."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.answerers import Evidence
from qa.answerers.generative import GenerativeAnswerer
from qa.answerers.reading import ReadingAnswerer
from qa.citations import markers, quote_in_lines
from qa.engine import Engine, FinalAnswer, TextDelta
from qa.errors import LLMFailedError, LLMTimeoutError
from qa.llm import LLMClient
from qa.loading import Source, load_corpus
from qa.models import Answer
from qa.reader import Reader
from tests.support.openai_standin import OpenAIStandIn, Reply

EngineFactory = Callable[..., Engine]  # the llm_engine fixture of tests/conftest.py

DIRECTOR = "Who directs Challenge?"
AGE = "How old is Yulia Peresild?"


@pytest.fixture(scope="module")
def seed_sources(seeds_dir: Path) -> dict[str, Source]:
    return {s.path: s for s in load_corpus(seeds_dir).sources}


@pytest.fixture(scope="module")
def checker(seed_engine: Engine) -> GenerativeAnswerer:
    """The answerer's post-processing alone; its LLM is never called."""
    unused = LLMClient("http://127.0.0.1:9/v1", "unused")
    return GenerativeAnswerer(
        unused, ReadingAnswerer(Reader.load()), seed_engine.embedding.embed_query
    )


@pytest.fixture(scope="module")
def director_evidence(seed_engine: Engine) -> Evidence:
    return seed_engine.retrieve(DIRECTOR, 5)[0]


def source_number(evidence: Evidence, needle: str) -> int:
    """The [n] of the first retrieved chunk whose text holds ``needle``."""
    for number, hit in enumerate(evidence.chunks, start=1):
        if needle in hit.chunk.text:
            return number
    raise AssertionError(f"no retrieved chunk holds {needle!r}")


def director_source(llm_engine: EngineFactory) -> tuple[Engine, int]:
    """A fresh engine, and the [n] it will give the chunk that names the director."""
    engine = llm_engine()
    evidence = engine.retrieve(DIRECTOR, 5)[0]
    return engine, source_number(evidence, "Directed by Klim Shipenko")


def check_contract(answer: Answer, sources: dict[str, Source]) -> None:
    """The answer contract, as for extractive answers; and no marker without its citation."""
    assert answer.answer.strip()
    assert [c.id for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert set(markers(answer.answer)) <= {c.id for c in answer.citations}
    for citation in answer.citations:
        assert quote_in_lines(citation, sources[citation.source]), citation
        assert 0.0 <= citation.score <= 1.0
    if answer.answered:
        assert markers(answer.answer) == [c.id for c in answer.citations]
    else:
        assert not markers(answer.answer)


# --- Scripted cases, through the engine ----------------------------------------------------------


def test_good_citations_are_narrowed_to_the_supporting_line(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, seed_sources: dict[str, Source]
) -> None:
    engine, n = director_source(llm_engine)
    llm_standin.script(Reply(f"Challenge is directed by Klim Shipenko [{n}]."))
    answer = engine.ask(DIRECTOR)
    check_contract(answer, seed_sources)
    assert answer.mode == "generative" and answer.answered
    assert answer.answer == "Challenge is directed by Klim Shipenko. [1]"
    [citation] = answer.citations
    assert citation.source == "003_ef181be3a8506996.txt"
    assert (citation.start_line, citation.end_line) == (15, 15)
    assert citation.quote.startswith("Directed by Klim Shipenko")
    assert citation.score >= engine.settings.llm_min_support


def test_the_prompt_numbers_and_labels_the_retrieved_sources(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    engine = llm_engine(top_k=3)
    engine.ask(DIRECTOR)
    system, user = llm_standin.requests[0]["messages"]
    assert system["role"] == "system" and "[1]" in system["content"]
    evidence = engine.retrieve(DIRECTOR, 3)[0]
    for number, hit in enumerate(evidence.chunks, start=1):
        label = f"[{number}] {hit.chunk.source}, lines {hit.chunk.start_line}-{hit.chunk.end_line}:"
        assert label + "\n" + hit.chunk.text in user["content"]
    assert "[4]" not in user["content"]
    assert user["content"].rstrip().endswith("after each sentence):")
    assert f"Question: {DIRECTOR}" in user["content"]


def test_out_of_range_markers_never_become_citations(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, seed_sources: dict[str, Source]
) -> None:
    engine, n = director_source(llm_engine)
    llm_standin.script(
        Reply(
            f"Challenge is directed by Klim Shipenko [{n}][6][0]. "
            "Shipenko also made Salyut 7 [5000]. He directed Salyut 7 [-1]."
        )
    )
    answer = engine.ask(DIRECTOR)
    check_contract(answer, seed_sources)
    assert answer.answered
    # Only the sentence with a marker in 1..5 survives, with that one citation.
    assert answer.answer == "Challenge is directed by Klim Shipenko. [1]"
    assert len(answer.citations) == 1


def test_no_markers_is_a_refusal(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, seed_sources: dict[str, Source]
) -> None:
    llm_standin.script(Reply("Challenge is directed by Klim Shipenko. He is Russian."))
    answer = llm_engine().ask(DIRECTOR)
    check_contract(answer, seed_sources)
    assert answer.mode == "generative"
    assert not answer.answered
    assert answer.answer.startswith("The sources don't say.")


def test_the_llm_refusing_is_a_refusal(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, seed_sources: dict[str, Source]
) -> None:
    llm_standin.script(Reply("The sources don't say."))
    answer = llm_engine().ask("What is the capital of France?")
    check_contract(answer, seed_sources)
    assert not answer.answered


@pytest.mark.parametrize(
    "claim",
    [
        "Tom Cruise directs Challenge [{n}].",  # a name the line does not state
        "Challenge is directed by Steven Spielberg [{n}].",
        "Klim Shipenko directed it in 1987 [{n}].",  # a number the line does not state
        "The film was shot on Mars [{n}].",
        "Bananas are yellow [{n}].",
    ],
)
def test_unsupported_claims_are_removed_and_never_cited(
    llm_engine: EngineFactory,
    llm_standin: OpenAIStandIn,
    seed_sources: dict[str, Source],
    claim: str,
) -> None:
    engine, n = director_source(llm_engine)
    llm_standin.script(Reply(claim.format(n=n)))
    answer = engine.ask(DIRECTOR)
    check_contract(answer, seed_sources)
    assert not answer.answered
    assert not markers(answer.answer)


def test_only_the_supported_sentences_are_kept(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, seed_sources: dict[str, Source]
) -> None:
    engine, n = director_source(llm_engine)
    llm_standin.script(
        Reply(
            f"Tom Cruise directs Challenge [{n}]. Challenge is directed by Klim Shipenko [{n}]. "
            f"Shipenko also directed the 2017 space film Salyut 7 [{n}]. Bananas are yellow [{n}]."
        )
    )
    answer = engine.ask(DIRECTOR)
    check_contract(answer, seed_sources)
    assert answer.answered
    assert answer.answer == (
        "Challenge is directed by Klim Shipenko. [1] "
        "Shipenko also directed the 2017 space film Salyut 7. [1]"
    )
    assert len(answer.citations) == 1  # one line supports both: cited once


def test_a_marker_to_the_wrong_source_is_not_support(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    engine = llm_engine()
    evidence = engine.retrieve(DIRECTOR, 5)[0]
    wrong = next(
        number
        for number, hit in enumerate(evidence.chunks, start=1)
        if "Shipenko" not in hit.chunk.text
    )
    llm_standin.script(Reply(f"Challenge is directed by Klim Shipenko [{wrong}]."))
    assert not engine.ask(DIRECTOR).answered


def test_disagreeing_sources_are_each_cited(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, seed_sources: dict[str, Source]
) -> None:
    engine = llm_engine()
    evidence = engine.retrieve(AGE, 5)[0]
    a, b = source_number(evidence, "36-year-old"), source_number(evidence, "37-year-old")
    llm_standin.script(
        Reply(f"The sources disagree: Yulia Peresild is 36 [{a}] or 37 years old [{b}].")
    )
    answer = engine.ask(AGE)
    check_contract(answer, seed_sources)
    assert answer.answered
    quotes = [c.quote for c in answer.citations]
    assert len(quotes) == 2
    assert any("36-year-old" in q for q in quotes) and any("37-year-old" in q for q in quotes)


def test_a_wrong_number_is_not_supported_by_the_line_it_cites(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    engine = llm_engine()
    evidence = engine.retrieve(AGE, 5)[0]
    n = source_number(evidence, "37-year-old")
    llm_standin.script(Reply(f"Yulia Peresild is 45 years old [{n}]."))
    assert not engine.ask(AGE).answered
    llm_standin.script(Reply(f"Yulia Peresild is 37 years old [{n}]."))
    assert engine.ask(AGE).answered


# --- Failures: clear errors, or the extractive answer marked as a fallback ----------------------

GARBAGE = [
    Reply(raw=b"<html>Bad Gateway</html>", content_type="text/html"),
    Reply(raw=b"not json at all"),
    Reply(raw=b'{"choices": []}'),
    Reply(""),
    Reply(status=500),
]


@pytest.mark.parametrize("reply", GARBAGE, ids=["html", "not-json", "no-choices", "empty", "500"])
def test_garbage_falls_back_to_the_extractive_answer_marked(
    llm_engine: EngineFactory,
    llm_standin: OpenAIStandIn,
    seed_engine: Engine,
    seed_sources: dict[str, Source],
    reply: Reply,
) -> None:
    llm_standin.script(reply)
    answer = llm_engine().ask(DIRECTOR)
    check_contract(answer, seed_sources)
    assert answer.mode == "extractive-fallback"
    expected = seed_engine.ask(DIRECTOR, mode="extractive")
    assert (answer.answer, answer.citations) == (expected.answer, expected.citations)


@pytest.mark.parametrize("reply", GARBAGE, ids=["html", "not-json", "no-choices", "empty", "500"])
def test_garbage_is_an_error_without_fallback(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, reply: Reply
) -> None:
    llm_standin.script(reply)
    with pytest.raises(LLMFailedError) as caught:
        llm_engine(llm_fallback="error").ask(DIRECTOR)
    assert caught.value.code == "llm_failed"
    assert DIRECTOR not in str(caught.value)  # errors never echo the question


def test_a_slow_llm_falls_back_within_the_timeout(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply("late [1].", delay_s=60))
    engine = llm_engine(llm_timeout_s=1)
    started = time.monotonic()
    answer = engine.ask(DIRECTOR)
    assert time.monotonic() - started < 10  # never a hang: 1 s timeout, generous bound
    assert answer.mode == "extractive-fallback" and answer.answered


def test_a_slow_llm_is_a_timeout_error_without_fallback(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply("late [1].", delay_s=60))
    engine = llm_engine(llm_timeout_s=1, llm_fallback="error")
    started = time.monotonic()
    with pytest.raises(LLMTimeoutError) as caught:
        engine.ask(DIRECTOR)
    assert time.monotonic() - started < 10
    assert caught.value.code == "llm_timeout"


# --- Streaming -----------------------------------------------------------------------------------


def test_streaming_sends_the_draft_then_the_checked_answer(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, seed_sources: dict[str, Source]
) -> None:
    engine, n = director_source(llm_engine)
    draft = f"Challenge is directed by Klim Shipenko [{n}]. Bananas are yellow [{n}]."
    llm_standin.script(Reply(draft, chunk_chars=3))
    events = list(engine.ask_stream(DIRECTOR))
    *deltas, final = events
    assert all(isinstance(e, TextDelta) for e in deltas) and len(deltas) > 10
    assert "".join(e.text for e in deltas if isinstance(e, TextDelta)) == draft
    assert isinstance(final, FinalAnswer)
    check_contract(final.answer, seed_sources)
    assert final.answer.answer == "Challenge is directed by Klim Shipenko. [1]"
    assert final.answer.mode == "generative"
    llm_standin.script(Reply(draft))
    assert llm_engine().ask(DIRECTOR).answer == final.answer.answer  # same as not streamed


def test_a_stream_that_fails_ends_with_the_fallback_answer(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply("word " * 100, chunk_chars=5, chunk_delay_s=0.1))
    started = time.monotonic()
    events = list(llm_engine(llm_timeout_s=1).ask_stream(DIRECTOR))
    assert time.monotonic() - started < 10
    final = events[-1]
    assert isinstance(final, FinalAnswer)
    assert final.answer.mode == "extractive-fallback"
    assert any(isinstance(e, TextDelta) for e in events[:-1])  # the draft it replaces


def test_a_stream_that_fails_without_fallback_raises(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply(raw_stream=b"data: {broken\n\n"))
    with pytest.raises(LLMFailedError):
        list(llm_engine(llm_fallback="error").ask_stream(DIRECTOR))


def test_extractive_mode_streams_its_answer_at_once(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, seed_engine: Engine
) -> None:
    events = list(llm_engine().ask_stream(DIRECTOR, mode="extractive"))
    expected = seed_engine.ask(DIRECTOR, mode="extractive")
    assert events[0] == TextDelta(expected.answer)
    assert isinstance(events[1], FinalAnswer) and events[1].answer.answer == expected.answer
    assert llm_standin.requests == []  # the LLM was not asked


def test_generative_is_the_default_mode_when_configured(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, seed_engine: Engine
) -> None:
    assert llm_engine().default_mode == "generative"
    assert seed_engine.default_mode == "extractive"
    assert "generative" not in seed_engine.answerers


# --- Properties ---------------------------------------------------------------------------------

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@st.composite
def answers_citing_anything(draw: st.DrawFn, evidence: Evidence) -> str:
    """Sentences copied from the retrieved chunks (which their own chunk supports), made up
    ones, and fragments, each followed by any marker numbers at all."""
    sentences = [s.text for hit in evidence.chunks for s in hit.chunk.sentences]
    made_up = st.sampled_from(
        ["Tom Cruise directs Challenge.", "It launched in 1999.", "Bananas are yellow.", "Yes."]
    )
    parts = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        text = draw(st.one_of(st.sampled_from(sentences), made_up))
        numbers = draw(st.lists(st.integers(min_value=-3, max_value=12), max_size=3))
        marks = "".join(f"[{n}]" for n in numbers)
        end = re.search(r"[.!?]?$", text)
        assert end is not None
        parts.append(f"{text[: end.start()]} {marks}{end.group(0)}")
    return " ".join(parts)


@PROPERTY
@given(data=st.data())
def test_any_reply_gives_the_contract(
    checker: GenerativeAnswerer,
    director_evidence: Evidence,
    seed_sources: dict[str, Source],
    data: st.DataObject,
) -> None:
    text = data.draw(answers_citing_anything(director_evidence))
    draft = checker.check(text, director_evidence)
    answer = Answer(
        question=DIRECTOR,
        answer=draft.answer,
        answered=draft.answered,
        citations=draft.citations,
        mode="generative",
    )
    check_contract(answer, seed_sources)
    retrieved = {
        (h.chunk.source, h.chunk.start_line, h.chunk.end_line) for h in director_evidence.chunks
    }
    if draft.answered:
        for citation in draft.citations:
            # Every citation lies inside a chunk that a valid marker named.
            assert any(
                source == citation.source and start <= citation.start_line <= end
                for source, start, end in retrieved
            )


@PROPERTY
@given(
    picks=st.lists(st.integers(min_value=0, max_value=1_000), min_size=1, max_size=3),
    numbers=st.lists(
        st.one_of(st.integers(max_value=0), st.integers(min_value=6, max_value=10**6)),
        min_size=1,
        max_size=3,
    ),
)
def test_a_marker_outside_1_to_n_never_becomes_a_citation(
    checker: GenerativeAnswerer, director_evidence: Evidence, picks: list[int], numbers: list[int]
) -> None:
    """Sentences copied verbatim from the sources, so well supported, but cited only with
    numbers outside 1..5 (five sources): nothing may be cited, and the answer is a refusal."""
    assert len(director_evidence.chunks) == 5
    sentences = [s.text for hit in director_evidence.chunks for s in hit.chunk.sentences]
    marks = "".join(f"[{n}]" for n in numbers)
    text = " ".join(f"{sentences[p % len(sentences)]} {marks}" for p in picks)
    draft = checker.check(text, director_evidence)
    assert not draft.answered
    assert not markers(draft.answer)


def test_a_source_sentence_cited_by_its_own_number_is_supported(
    checker: GenerativeAnswerer, director_evidence: Evidence, seed_sources: dict[str, Source]
) -> None:
    """The other side of the property above: the same sentences, cited right, are kept."""
    for number, hit in enumerate(director_evidence.chunks, start=1):
        for sentence in hit.chunk.sentences:
            if len(sentence.text.split()) < 6:
                continue  # credit lines and fragments
            draft = checker.check(f"{sentence.text} [{number}]", director_evidence)
            assert draft.answered, sentence.text
            [citation] = draft.citations
            assert citation.quote == sentence.text
            assert quote_in_lines(citation, seed_sources[citation.source])
