"""A node process run under py-spy for ``bench --profile`` (collapsed stacks, chart).

py-spy starts the node as its child (``py-spy record -- <node command>``), so it may
read the node's memory wherever a parent may, and samples every thread of the node and
of the interpreter the console script re-executes (``--subprocesses``), in and outside
the GIL (native frames are not unwound: time inside a library shows as the Python call
that entered it).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .profile_summary import (
    plot_shares,
    read_collapsed,
    self_shares,
    thread_shares,
    without_startup,
)

__all__ = ["NodeProfile", "py_spy"]

SAMPLES_PER_S = 200


def py_spy() -> str:
    """The py-spy executable (beside this interpreter, else on PATH)."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.is_file() else shutil.which("py-spy")
    if found is None:
        raise ValueError("--profile needs py-spy (pip install py-spy; requirements.txt pins it)")
    return found


class NodeProfile:
    """Where one profiled run writes: ``<dir>/<key>.txt`` (stacks) and ``<key>.png``."""

    def __init__(self, folder: Path, key: str):
        self.stacks_path = folder / f"{key}.txt"
        self.chart_path = folder / f"{key}.png"
        self.key = key
        folder.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [
            py_spy(),
            "record",
            "--format",
            "raw",
            "--subprocesses",
            "--threads",
            "--nolineno",
            "--nonblocking",  # sampling does not pause the node
            "--rate",
            str(SAMPLES_PER_S),
            "--output",
            str(self.stacks_path),
            "--",
        ]

    def summary(self, top: int = 15) -> dict:
        """Top innermost functions and threads by share of the samples taken while the
        node worked (start-up left out), and the chart."""
        if not self.stacks_path.is_file():
            raise ValueError(f"py-spy wrote no profile to {self.stacks_path}")
        stacks = without_startup(read_collapsed(self.stacks_path))
        functions = self_shares(stacks, top)
        title = f"node under bench, {self.key}: innermost functions"
        plot_shares(functions, title, self.chart_path)
        return {
            "stacks": str(self.stacks_path),
            "chart": str(self.chart_path),
            "samples": sum(stacks.values()),
            "functions": [[name, round(share, 4)] for name, share in functions],
            "threads": [[name, round(share, 4)] for name, share in thread_shares(stacks)],
        }
