"""The Slack bot's SQLite file (QA_SLACK_DB): events already taken, answers given, feedback.

SQLite, not memory, so that several `qa serve` workers and a restart agree on which events
were answered. WAL mode lets one writer and many readers work at once; the busy timeout makes
a second writer wait instead of failing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qa.errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    asked_at REAL NOT NULL,
    channel TEXT NOT NULL,
    user TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    answered INTEGER NOT NULL,
    citations TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL REFERENCES answers(id),
    user TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    voted_at REAL NOT NULL,
    PRIMARY KEY (answer_id, user)
);
"""


class SlackDatabase:
    """Opens a short-lived connection per operation: safe from any thread or process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self.connect() as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"The Slack bot's database {path} cannot be opened ({exc}).",
                "Point QA_SLACK_DB at a writable file, or remove the damaged one (it holds "
                "only feedback and which events were answered).",
            ) from None

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=10.0)
        try:
            with connection:  # commits, or rolls back on an exception
                yield connection
        finally:
            connection.close()
