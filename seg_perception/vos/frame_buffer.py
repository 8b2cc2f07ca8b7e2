"""The last few frames by header stamp, for a target mask that names its frame."""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

__all__ = ["FrameBuffer", "VOSInitError", "stamp_text"]

Stamp = tuple[int, int]
Item = TypeVar("Item")


class VOSInitError(ValueError):
    """An init mask that cannot start a target (one line; the previous target is kept)."""


def stamp_text(stamp: Stamp) -> str:
    return f"{stamp[0]}.{stamp[1]:09d}"


class FrameBuffer(Generic[Item]):
    """Thread-safe ring of ``(stamp, item)``; ``find`` names the range it holds."""

    def __init__(self, size: int):
        self._items: deque[tuple[Stamp, Item]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, stamp: Stamp, item: Item) -> None:
        with self._lock:
            self._items.append((stamp, item))

    def is_ahead(self, stamp: Stamp) -> bool:
        """Whether ``stamp`` is newer than every buffered frame (its frame may be on the way)."""
        with self._lock:
            return not self._items or stamp > self._items[-1][0]

    def find(self, stamp: Stamp) -> Item:
        """The newest item with ``stamp``.

        Raises:
            VOSInitError: no such stamp among the buffered frames (the range is named).
        """
        with self._lock:
            items = list(self._items)
        for seen, item in reversed(items):
            if seen == stamp:
                return item
        if not items:
            raise VOSInitError(f"no frame received yet to match stamp {stamp_text(stamp)}")
        raise VOSInitError(
            f"no recent frame has stamp {stamp_text(stamp)} (the last {len(items)} frames "
            f"run from {stamp_text(items[0][0])} to {stamp_text(items[-1][0])})"
        )
