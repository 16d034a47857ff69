"""Answers the bot gave and what people thought of them (the helpful / not helpful buttons).

Each answer is stored with its question and citations when it is posted; the buttons carry only
its id. One vote per person per answer: a second click changes the vote.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from qa.models import Answer
from service.slack.database import SlackDatabase


@dataclass(frozen=True)
class FeedbackTotals:
    helpful: int
    not_helpful: int


class FeedbackStore:
    def __init__(self, database: SlackDatabase) -> None:
        self.database = database

    def record_answer(self, answer: Answer, channel: str, user: str) -> str:
        """Stores ``answer``; returns the id its feedback buttons carry."""
        answer_id = uuid.uuid4().hex
        citations = json.dumps([c.model_dump() for c in answer.citations], ensure_ascii=False)
        with self.database.connect() as connection:
            connection.execute(
                "INSERT INTO answers (id, asked_at, channel, user, question, answer, answered,"
                " citations) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    time.time(),
                    channel,
                    user,
                    answer.question,
                    answer.answer,
                    int(answer.answered),
                    citations,
                ),
            )
        return answer_id

    def record_vote(
        self, answer_id: str, user: str, helpful: bool, clicked_at: float | None = None
    ) -> bool:
        """Records ``user``'s vote, clicked at ``clicked_at`` (epoch seconds; now if None);
        False when no answer has that id (a forged or old button).

        The latest click wins, by when it was clicked: listeners run concurrently after the
        ack, so two quick clicks can be recorded in either order."""
        with self.database.connect() as connection:
            known = connection.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,))
            if known.fetchone() is None:
                return False
            connection.execute(
                "INSERT INTO feedback (answer_id, user, helpful, voted_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (answer_id, user) DO UPDATE SET helpful = excluded.helpful,"
                " voted_at = excluded.voted_at WHERE excluded.voted_at >= feedback.voted_at",
                (answer_id, user, int(helpful), time.time() if clicked_at is None else clicked_at),
            )
        return True

    def totals(self) -> FeedbackTotals:
        with self.database.connect() as connection:
            row = connection.execute(
                "SELECT COALESCE(SUM(helpful), 0), COALESCE(SUM(1 - helpful), 0) FROM feedback"
            ).fetchone()
        return FeedbackTotals(helpful=int(row[0]), not_helpful=int(row[1]))

    def votes(self, answer_id: str) -> list[tuple[str, bool]]:
        with self.database.connect() as connection:
            rows = connection.execute(
                "SELECT user, helpful FROM feedback WHERE answer_id = ? ORDER BY user",
                (answer_id,),
            ).fetchall()
        return [(str(user), bool(helpful)) for user, helpful in rows]
