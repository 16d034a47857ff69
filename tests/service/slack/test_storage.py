"""The bot's SQLite records: events taken once across workers, answers and votes."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qa.errors import ConfigError
from qa.models import Answer, Citation
from service.slack.database import SlackDatabase
from service.slack.feedback import FeedbackStore
from service.slack.ledger import EventLedger


def test_an_event_is_taken_once_even_by_two_workers(tmp_path: Path) -> None:
    first = EventLedger(SlackDatabase(tmp_path / "slack.sqlite3"))
    second = EventLedger(SlackDatabase(tmp_path / "slack.sqlite3"))

    assert first.claim("Ev1")
    assert not second.claim("Ev1")
    assert not first.claim("Ev1")
    assert second.claim("Ev2")


def test_concurrent_deliveries_of_one_event_are_taken_once(tmp_path: Path) -> None:
    ledgers = [EventLedger(SlackDatabase(tmp_path / "slack.sqlite3")) for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lambda n: ledgers[n % 4].claim("EvSame"), range(32)))
    assert taken.count(True) == 1


def test_the_database_survives_a_restart(tmp_path: Path) -> None:
    EventLedger(SlackDatabase(tmp_path / "slack.sqlite3")).claim("Ev1")
    assert not EventLedger(SlackDatabase(tmp_path / "slack.sqlite3")).claim("Ev1")


def sample_answer() -> Answer:
    return Answer(
        question="Who directs Challenge?",
        answer="Directed by Klim Shipenko [1].",
        answered=True,
        citations=[
            Citation(
                id=1,
                source="003.txt",
                start_line=15,
                end_line=15,
                quote="Directed by Klim Shipenko",
                score=0.9,
            )
        ],
        mode="extractive",
    )


def test_votes_are_one_per_person_and_can_change(tmp_path: Path) -> None:
    store = FeedbackStore(SlackDatabase(tmp_path / "slack.sqlite3"))
    answer_id = store.record_answer(sample_answer(), channel="C1", user="U1")

    assert store.record_vote(answer_id, "U2", helpful=True)
    assert store.record_vote(answer_id, "U3", helpful=True)
    assert store.record_vote(answer_id, "U2", helpful=False)

    assert store.votes(answer_id) == [("U2", False), ("U3", True)]
    totals = store.totals()
    assert (totals.helpful, totals.not_helpful) == (1, 1)


def test_the_latest_click_wins_whatever_order_clicks_are_recorded_in(tmp_path: Path) -> None:
    store = FeedbackStore(SlackDatabase(tmp_path / "slack.sqlite3"))
    answer_id = store.record_answer(sample_answer(), channel="C1", user="U1")

    # Clicked "not helpful" second, but its listener finished first.
    assert store.record_vote(answer_id, "U2", helpful=False, clicked_at=1700000002.5)
    assert store.record_vote(answer_id, "U2", helpful=True, clicked_at=1700000001.5)

    assert store.votes(answer_id) == [("U2", False)]


def test_a_vote_for_an_unknown_answer_is_refused(tmp_path: Path) -> None:
    store = FeedbackStore(SlackDatabase(tmp_path / "slack.sqlite3"))
    assert not store.record_vote("forged", "U1", helpful=True)
    assert store.totals().helpful == 0


def test_a_damaged_database_is_reported_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "slack.sqlite3"
    path.write_bytes(b"this is not a database" * 100)

    with pytest.raises(ConfigError) as caught:
        SlackDatabase(path)

    assert "QA_SLACK_DB" in caught.value.hint
    assert path.read_bytes().startswith(b"this is not")  # nothing is overwritten


def test_an_unwritable_location_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot be opened"):
        SlackDatabase(blocker / "slack.sqlite3")


def test_stored_answers_keep_question_answer_and_citations(tmp_path: Path) -> None:
    store = FeedbackStore(SlackDatabase(tmp_path / "slack.sqlite3"))
    answer_id = store.record_answer(sample_answer(), channel="C1", user="U1")
    with sqlite3.connect(tmp_path / "slack.sqlite3") as db:
        row = db.execute(
            "SELECT question, answer, citations, channel, user FROM answers WHERE id = ?",
            (answer_id,),
        ).fetchone()
    assert row[0] == "Who directs Challenge?"
    assert "Shipenko" in row[1] and "003.txt" in row[2]
    assert row[3:] == ("C1", "U1")
