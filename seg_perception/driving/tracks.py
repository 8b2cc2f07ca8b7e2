"""Which tracks a driving evaluation drives: the committed held-out set, or a range.

``heldout_tracks.yaml`` (package data) holds the 100 held-out seeds every driving
figure is scored on; demonstrations and DAgger never drive them (``refuse_heldout``).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import yaml

__all__ = ["heldout_seeds", "parse_tracks", "refuse_heldout", "HELDOUT_FILE"]

HELDOUT_FILE = Path(__file__).with_name("heldout_tracks.yaml")


@cache
def heldout_seeds() -> tuple[int, ...]:
    seeds = yaml.safe_load(HELDOUT_FILE.read_text())["seeds"]
    return tuple(int(s) for s in seeds)


def parse_tracks(text: str) -> list[int]:
    """``heldout`` (all 100), ``heldout:N`` (the first N) or ``FIRST-LAST`` (inclusive)."""
    name, _, count = text.partition(":")
    if name == "heldout":
        seeds = list(heldout_seeds())
        if not count:
            return seeds
        if not count.isdigit() or not 1 <= int(count) <= len(seeds):
            raise ValueError(f"--tracks heldout:N needs N in 1..{len(seeds)}, got {count!r}")
        return seeds[: int(count)]
    first, dash, last = text.partition("-")
    if dash and first.isdigit() and last.isdigit() and int(first) <= int(last):
        return list(range(int(first), int(last) + 1))
    raise ValueError(f"--tracks must be heldout, heldout:N or FIRST-LAST, got {text!r}")


def refuse_heldout(seeds: Iterable[int], purpose: str) -> None:
    """Raise if any of ``seeds`` is held out (they may only be scored on)."""
    held = set(heldout_seeds())
    used = sorted(held.intersection(seeds))
    if used:
        raise ValueError(
            f"seed {used[0]} is a held-out evaluation track ({len(used)} of the seeds are): "
            f"{purpose} may not use seeds {min(held)}-{max(held)}"
        )
