"""ruff (configured by ruff.toml) finds nothing to report in the repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUFF = Path(sys.executable).parent / "ruff"


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_is_clean(repo_root: Path, command: list[str]) -> None:
    assert RUFF.is_file(), f"ruff not installed beside {sys.executable}"
    result = subprocess.run(
        [str(RUFF), *command, "."], cwd=repo_root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"ruff {' '.join(command)}:\n{result.stdout}{result.stderr}"
