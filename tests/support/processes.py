"""Running `qa` as a user would: a subprocess with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def qa_environment(**variables: str) -> dict[str, str]:
    """This environment without any QA_* or SLACK_* variable, plus ``variables``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "SLACK_"))}
    return {**kept, **variables}


def run_qa(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`qa ARGS` to completion, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def stop(process: subprocess.Popen[bytes], timeout_s: float = 30) -> int | None:
    """SIGTERM, then SIGKILL if it does not exit within ``timeout_s``; its exit status."""
    if process.poll() is not None:
        return process.returncode
    process.terminate()
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=10)
