"""`qa`, with a pause before every write to the index: an ingest then takes seconds on a
machine of any speed, so a test can kill it midway instead of racing it.

Usage (by path, as a script): ``python tests/support/slow_writes.py SECONDS ingest ...``
"""

from __future__ import annotations

import sys
import time
from typing import Any

from qa.store import IndexStore
from service.cli import main


def _slowed(pause_s: float) -> None:
    write = IndexStore.write_sources

    def write_sources(self: IndexStore, *args: Any, **kwargs: Any) -> None:
        time.sleep(pause_s)
        write(self, *args, **kwargs)

    IndexStore.write_sources = write_sources  # type: ignore[method-assign]


if __name__ == "__main__":
    _slowed(float(sys.argv[1]))
    sys.argv = ["qa", *sys.argv[2:]]
    main()
