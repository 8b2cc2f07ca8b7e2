"""``seg-perception`` run as its own process (the console script's code path)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_cli(
    *argv: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """``python -m seg_perception ARGV``: exit code, stdout and stderr as text."""
    return subprocess.run(
        [sys.executable, "-m", "seg_perception", *argv],
        capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd,
    )  # fmt: skip
