"""Rolling latency and rate statistics (no ROS imports)."""

from __future__ import annotations

import time
from collections import defaultdict, deque

import numpy as np

__all__ = ["LatencyStats", "percentiles"]


def percentiles(samples: list[float] | np.ndarray, points=(50, 90, 99)) -> dict[str, float]:
    """``{"p50": ..., "p90": ..., "p99": ...}`` of ``samples`` (NaN when empty)."""
    if len(samples) == 0:
        return {f"p{p}": float("nan") for p in points}
    values = np.percentile(np.asarray(samples, dtype=np.float64), points)
    return {f"p{p}": float(v) for p, v in zip(points, values, strict=True)}


class LatencyStats:
    """Per-stage latency over the last ``window`` frames and frames/s over ``rate_window`` s."""

    def __init__(self, window: int = 100, rate_window: float = 5.0):
        self._stages: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=window))
        self._done: deque[float] = deque()
        self._rate_window = rate_window
        self._first: float | None = None

    def record(self, timings_ms: dict[str, float], now: float | None = None) -> None:
        for stage, value in timings_ms.items():
            self._stages[stage].append(value)
        self._done.append(time.monotonic() if now is None else now)
        if self._first is None:
            self._first = self._done[-1]

    def fps(self, now: float | None = None) -> float:
        """Frames per second over the last ``rate_window`` s; while the stream is younger
        than that, over the frames so far (a 3 s stream at 10 Hz is 10 fps, not 6)."""
        now = time.monotonic() if now is None else now
        while self._done and now - self._done[0] > self._rate_window:
            self._done.popleft()
        if self._first is not None and now - self._first < self._rate_window:
            span = self._done[-1] - self._done[0] if self._done else 0.0
            return (len(self._done) - 1) / span if span > 0 else 0.0
        return len(self._done) / self._rate_window

    def summary(self) -> dict[str, dict[str, float]]:
        """``{stage: {"mean": ms, "p50": ms, "p90": ms, "p99": ms}}``."""
        return {
            stage: {"mean": float(np.mean(values)), **percentiles(list(values))}
            for stage, values in self._stages.items()
            if values
        }
