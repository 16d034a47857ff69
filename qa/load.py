"""How many questions this process is answering at this moment.

The embedding model and the reader size their threads to it: a question answered alone may
use every core, while questions answered together each take one, so that they do not fight
for the cores (measured in docs/performance.md, "Threads that follow the load").
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0


@contextmanager
def answering() -> Iterator[None]:
    """Counts the enclosed work as one question being answered."""
    global _active
    with _lock:
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1


def active() -> int:
    """Questions being answered now (this one included, when called inside ``answering``)."""
    return _active
