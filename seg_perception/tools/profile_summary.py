"""What a py-spy profile of a node says: where its samples go (no ROS).

``py-spy record --format raw`` writes collapsed stacks, one line per distinct stack:
``frame;frame;...;frame count``, outermost first (with ``--threads`` a thread frame
first; with ``--subprocesses`` a process frame before it). A frame is
``function (file)`` or ``function (file:line)``.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

__all__ = [
    "read_collapsed",
    "without_startup",
    "self_shares",
    "thread_shares",
    "inclusive_shares",
    "plot_shares",
]

Stacks = Counter  # tuple of frames -> samples

_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
_LINE_NUMBER = re.compile(r":\d+\)$")


def _frame(text: str) -> str:
    return _LINE_NUMBER.sub(")", text.strip())


def read_collapsed(path: str | os.PathLike) -> Stacks:
    """The stacks and their sample counts in a collapsed-stack file. A line that does
    not parse is skipped (py-spy may write one for a process it sampled while the
    process exited); a file where no line parses is an error."""
    stacks: Stacks = Counter()
    first_bad: tuple[int, str] | None = None
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    for number, line in enumerate(lines, 1):
        match = _LINE.match(line)
        if match is None:
            first_bad = first_bad or (number, line)
            continue
        frames = tuple(_frame(f) for f in match["stack"].split(";") if f.strip())
        stacks[frames] += int(match["count"])
    if lines and not stacks:
        number, line = first_bad
        raise ValueError(f"{path}:{number}: not a collapsed stack line: {line[:80]!r}")
    return stacks


def _is_context(frame: str) -> bool:
    return frame.startswith(("process ", "thread "))


_STARTUP = re.compile(r"^(_find_and_load |\S+\.__init__ \(seg_perception/nodes/)")


def without_startup(stacks: Stacks) -> Stacks:
    """The stacks of the node at work: imports and the node's construction (model
    loading and compilation) left out."""
    return Counter(
        {frames: n for frames, n in stacks.items() if not any(_STARTUP.match(f) for f in frames)}
    )


def self_shares(stacks: Stacks, top: int = 15) -> list[tuple[str, float]]:
    """The ``top`` innermost functions by share of all samples (where time is spent)."""
    leaves: Counter = Counter()
    for frames, count in stacks.items():
        code = [f for f in frames if not _is_context(f)]
        leaves[code[-1] if code else "(idle)"] += count
    total = sum(stacks.values()) or 1
    return [(name, count / total) for name, count in leaves.most_common(top)]


def inclusive_shares(stacks: Stacks, pattern: str) -> float:
    """The share of samples with a frame matching ``pattern`` anywhere on the stack."""
    wanted = re.compile(pattern)
    hits = sum(c for frames, c in stacks.items() if any(wanted.search(f) for f in frames))
    return hits / (sum(stacks.values()) or 1)


def _thread_name(frames: tuple[str, ...]) -> str:
    """``thread (123): name`` gives ``name``; without one, the outermost function."""
    for frame in frames:
        if frame.startswith("thread ") and frame.partition(": ")[2]:
            return frame.partition(": ")[2]
    code = [f for f in frames if not _is_context(f)]
    return code[0] if code else "(unknown)"


def thread_shares(stacks: Stacks) -> list[tuple[str, float]]:
    """Share of samples per thread (by its name)."""
    threads: Counter = Counter()
    for frames, count in stacks.items():
        threads[_thread_name(frames)] += count
    total = sum(stacks.values()) or 1
    return [(name, count / total) for name, count in threads.most_common()]


def plot_shares(rows: list[tuple[str, float]], title: str, out: str | os.PathLike) -> None:
    """A horizontal bar chart of ``rows`` (label, share) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io_utils import atomic_write

    labels = [name if len(name) < 70 else name[:67] + "..." for name, _ in rows][::-1]
    figure, axes = plt.subplots(figsize=(10, 0.35 * len(rows) + 1.2))
    axes.barh(labels, [100 * share for _, share in rows][::-1], color="#4c72b0")
    axes.set_xlabel("% of samples")
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    with atomic_write(out) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
