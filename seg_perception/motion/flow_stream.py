"""Per-camera flow state: the previous frame, and resets when the stream breaks."""

from __future__ import annotations

from collections import Counter

import numpy as np

from .flow import FlowEstimator, to_gray

__all__ = ["FlowStream", "RESET_REASONS"]

RESET_REASONS = ("first frame", "time went backwards", "gap too long", "size changed")


class FlowStream:
    """Flow between consecutive frames of one camera.

    A frame whose stamp is not after the previous one (bag loop, replay restart), comes
    more than ``max_gap_s`` after it, or has another size starts the stream afresh: it
    gives no flow, and counts in ``resets`` under its reason.

    Args:
        estimator: the flow method.
        max_gap_s: longest gap between stamps that still gives flow.
    """

    def __init__(self, estimator: FlowEstimator, max_gap_s: float = 0.5):
        if max_gap_s <= 0:
            raise ValueError(f"max_gap_s must be positive, got {max_gap_s}")
        self.estimator = estimator
        self.max_gap_s = max_gap_s
        self.resets: Counter[str] = Counter()
        self.last_reset_reason: str | None = None
        self._previous: np.ndarray | None = None
        self._previous_stamp = 0.0

    def reset(self) -> None:
        """Forget the previous frame: the next one gives no flow."""
        self._previous = None

    def push(self, frame: np.ndarray, stamp_s: float) -> np.ndarray | None:
        """Flow (H, W, 2) from the previous frame to ``frame``, or None after a reset."""
        gray = to_gray(frame)
        reason = self._reset_reason(gray, stamp_s)
        previous = self._previous
        self._previous, self._previous_stamp = gray, stamp_s
        if reason is not None:
            self.resets[reason] += 1
            self.last_reset_reason = reason
            return None
        return self.estimator(previous, gray)

    def _reset_reason(self, gray: np.ndarray, stamp_s: float) -> str | None:
        if self._previous is None:
            return "first frame"
        if stamp_s <= self._previous_stamp:
            return "time went backwards"
        if stamp_s - self._previous_stamp > self.max_gap_s:
            return "gap too long"
        if gray.shape != self._previous.shape:
            return "size changed"
        return None
