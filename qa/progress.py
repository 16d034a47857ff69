"""Progress bars for long operations: shown on a terminal, silent in CI, pipes and --json."""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import Protocol


class Progress(Protocol):
    def start(self, total: int, description: str) -> None: ...
    def advance(self, amount: int = 1) -> None: ...
    def stop(self) -> None: ...


class SilentProgress:
    def start(self, total: int, description: str) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass

    def stop(self) -> None:
        pass


class TerminalProgress:
    """A rich progress bar on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task: object = None

    def start(self, total: int, description: str) -> None:
        if self._task is None:
            self._bar.start()
        else:
            self._bar.remove_task(self._task)  # type: ignore[arg-type]
        self._task = self._bar.add_task(description, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, amount)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self._task is not None:
            self._bar.stop()
            self._task = None

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def progress_for(quiet: bool = False) -> Progress:
    """A bar when stderr is a terminal and nobody asked for quiet (--json, CI=true)."""
    if quiet or os.environ.get("CI", "").lower() in {"1", "true", "yes"} or not sys.stderr.isatty():
        return SilentProgress()
    return TerminalProgress()
