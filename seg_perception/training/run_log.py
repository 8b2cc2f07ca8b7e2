"""The per-epoch CSV log of a training run, and its console line."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

__all__ = ["log_epoch"]


def log_epoch(path: Path, row: dict[str, Any], fieldnames: Sequence[str]) -> None:
    """Print ``row`` as ``key=value`` pairs and append it to the CSV at ``path``."""
    tqdm.write(" ".join(f"{k}={v}" for k, v in row.items()))
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fieldnames))
        if handle.tell() == 0:
            writer.writeheader()
        writer.writerow(row)
