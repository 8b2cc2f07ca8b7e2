"""An init that names a frame not received yet, held until that frame can decide it.

The init (reliable) may overtake the camera frame it names (best effort, larger). It is
held until a frame at least as new is taken, or until both a wall-time wait has passed
and enough older frames were taken since: a node whose executor ran late (busy worker,
loaded machine) takes a backlog of older frames at once, and wall time alone would give
up on a frame that is still queued behind them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .frame_buffer import Stamp

__all__ = ["EarlyInit", "WAIT_FRAMES", "WAIT_S"]

WAIT_S = 2.0  # at least this long, from the init callback
WAIT_FRAMES = 10  # and at least this many older frames taken meanwhile

Init = TypeVar("Init")


@dataclass
class _Held(Generic[Init]):
    init: Init
    stamp: Stamp
    give_up_at: float
    older_frames: int = 0


class EarlyInit(Generic[Init]):
    """At most one held init (a newer init replaces it); thread-safe."""

    def __init__(
        self,
        wait_s: float = WAIT_S,
        wait_frames: int = WAIT_FRAMES,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.wait_s, self.wait_frames, self.clock = wait_s, wait_frames, clock
        self._held: _Held[Init] | None = None
        self._lock = threading.Lock()

    def hold(self, init: Init, stamp: Stamp) -> None:
        with self._lock:
            self._held = _Held(init, stamp, self.clock() + self.wait_s)

    def clear(self) -> None:
        with self._lock:
            self._held = None

    def frame_taken(self, stamp: Stamp) -> Init | None:
        """The held init once this frame decides it (its own or a newer one arrived, or
        the wait is over), else None; a returned init is no longer held."""
        with self._lock:
            held = self._held
            if held is None:
                return None
            if stamp < held.stamp:
                held.older_frames += 1
                waiting = held.older_frames < self.wait_frames or self.clock() <= held.give_up_at
                if waiting:
                    return None
            self._held = None
            return held.init
