"""Progress bars: on a terminal only, never in CI, pipes or --json."""

from __future__ import annotations

import io

import pytest

from qa.progress import SilentProgress, TerminalProgress, progress_for


def test_quiet_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert isinstance(progress_for(quiet=True), SilentProgress)
    assert isinstance(progress_for(), TerminalProgress)


def test_quiet_in_ci_and_pipes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    monkeypatch.setenv("CI", "true")
    assert isinstance(progress_for(), SilentProgress)
    monkeypatch.delenv("CI")
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert isinstance(progress_for(), SilentProgress)
