"""Which Slack events were already taken, so that a retried or repeated delivery is not
answered twice.

Slack redelivers an event (with ``X-Slack-Retry-Num``) when it got no 200 within 3 seconds, and
may deliver the same ``event_id`` again; several workers may each get a copy. The first to
insert the id answers; everyone else acknowledges and does nothing. An event whose answer
failed half-way is not retried: a missing answer is better than two.
"""

from __future__ import annotations

import sqlite3
import time

from service.slack.database import SlackDatabase

#: Slack retries for about an hour at most; ids older than a day are forgotten.
KEEP_S = 24 * 3600.0


class EventLedger:
    def __init__(self, database: SlackDatabase) -> None:
        self.database = database
        self._claims = 0

    def claim(self, event_id: str) -> bool:
        """True for the first delivery of ``event_id``, False for any later one."""
        now = time.time()
        with self.database.connect() as connection:
            try:
                connection.execute(
                    "INSERT INTO events (event_id, received_at) VALUES (?, ?)", (event_id, now)
                )
            except sqlite3.IntegrityError:
                return False
            self._claims += 1
            if self._claims % 500 == 1:
                connection.execute("DELETE FROM events WHERE received_at < ?", (now - KEEP_S,))
        return True
