"""EngineSlot: when a worker whose index could not be opened tries again."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from qa.config import Settings
from qa.engine import Engine
from qa.errors import CorruptIndexError, QAError, StoreUnavailableError
from service.deps import EngineSlot
from tests.support.chroma import ChromaServer


class Opener:
    """Opens the engine after failing ``failures`` times with ``error``; counts the tries."""

    def __init__(self, engine: Engine, error: QAError, failures: int) -> None:
        self.engine = engine
        self.error = error
        self.failures = failures
        self.tries = 0

    def __call__(self, settings: Settings) -> Engine:
        self.tries += 1
        if self.tries <= self.failures:
            raise self.error
        return self.engine


def _unreachable() -> StoreUnavailableError:
    return StoreUnavailableError("The Chroma server cannot be reached.", "Start it.")


def test_an_unreachable_store_is_tried_again_on_the_next_request(seed_engine: Engine) -> None:
    opener = Opener(seed_engine, _unreachable(), failures=2)
    slot = EngineSlot(seed_engine.settings, opener=opener)
    slot.load()
    with pytest.raises(StoreUnavailableError):
        slot.get()
    assert opener.tries == 2
    assert slot.get() is seed_engine
    assert opener.tries == 3
    assert slot.get() is seed_engine and slot.error is None
    assert opener.tries == 3  # loaded: never opened again


def test_an_error_only_a_person_can_fix_is_retried_every_retry_after_s(
    seed_engine: Engine,
) -> None:
    corrupt = CorruptIndexError("The index could not be read.", "Run `qa ingest --rebuild`.")
    opener = Opener(seed_engine, corrupt, failures=1)
    slot = EngineSlot(seed_engine.settings, opener=opener)
    slot.load()
    for _ in range(3):
        with pytest.raises(CorruptIndexError):
            slot.get()
    assert opener.tries == 1
    slot.RETRY_AFTER_S = 0.0
    time.sleep(0.01)  # monotonic clocks may be coarse
    assert slot.get() is seed_engine
    assert opener.tries == 2


class CountingLock:
    """A lock that counts the threads that asked for it, so a test knows they all queued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = threading.Lock()
        self.asked = 0

    def __enter__(self) -> None:
        with self._count:
            self.asked += 1
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_requests_that_wait_on_a_try_share_its_outcome(seed_engine: Engine) -> None:
    requests = 6
    tries = 0
    lock = CountingLock()

    def slow_unreachable(settings: Settings) -> Engine:
        nonlocal tries
        tries += 1
        deadline = time.monotonic() + 30
        while lock.asked < requests and time.monotonic() < deadline:
            time.sleep(0.01)  # until every request queued behind this try
        raise _unreachable()

    slot = EngineSlot(seed_engine.settings, opener=slow_unreachable)
    slot._lock = lock  # type: ignore[assignment]
    slot.error = _unreachable()  # as after a failed start-up
    outcomes: list[BaseException] = []

    def request() -> None:
        try:
            slot.get()
        except QAError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=request) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert lock.asked == requests
    assert len(outcomes) == requests
    assert all(isinstance(outcome, StoreUnavailableError) for outcome in outcomes)
    assert tries == 1
    with pytest.raises(StoreUnavailableError):
        slot.get()  # a request after that try makes its own
    assert tries == 2


def test_a_real_down_server_is_tried_on_each_request_until_it_answers(
    seed_engine: Engine, tmp_path: Path
) -> None:
    chroma = ChromaServer(tmp_path / "chroma")
    settings = seed_engine.settings.model_copy(update={"chroma_url": chroma.url})
    tries = 0

    def open_engine(settings: Settings) -> Engine:
        nonlocal tries
        tries += 1
        return Engine.open(settings, embedding=seed_engine.embedding)

    slot = EngineSlot(settings, opener=open_engine)
    slot.load()
    for expected_tries in (2, 3):
        with pytest.raises(StoreUnavailableError, match="cannot be reached"):
            slot.get()
        assert tries == expected_tries
    with chroma:
        engine = slot.get()  # an empty index on the new server, but open
        assert tries == 4
        assert engine.store.chroma_url == chroma.url
        assert slot.error is None
