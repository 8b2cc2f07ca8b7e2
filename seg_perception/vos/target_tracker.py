"""A video-object target for a live stream: a buffer of recent frames to match an init
mask against, OSVOS fine-tuning in a background thread, then tracking (no ROS).

States: ``idle`` (no target), ``fine-tuning`` (a new target is being learnt; no mask is
produced), ``tracking`` (each frame gets the target's mask). A valid init replaces the
target: one fine-tuning thread takes the newest init only, and a fine-tuning still
running stops at its next step, so a burst of inits costs one fine-tuning, not one
each. A bad init raises ``VOSInitError`` and changes nothing; ``reset`` returns to idle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from torch import nn

from ..latest_worker import LatestOnlyWorker
from .foreground_net import upsample_probability
from .frame_buffer import VOSInitError, stamp_text
from .online import OnlineParams, VideoObjectSegmenter

__all__ = ["TargetTracker", "VOSInitError"]

Stamp = tuple[int, int]


class TargetTracker:
    """Args:
    parent: the VOS parent network (never modified).
    params: OSVOS / OnAVOS settings.
    device: torch device of fine-tuning and tracking.
    log: one-line notes (the node routes them to its logger).
    """

    def __init__(
        self,
        parent: nn.Module,
        params: OnlineParams,
        device: str = "cpu",
        log: Callable[[str], None] = print,
    ):
        self.parent, self.params, self.device, self.log = parent, params, device, log
        self._lock = threading.Lock()
        self._generation = 0
        self._segmenter: VideoObjectSegmenter | None = None
        self._fine_tuner = LatestOnlyWorker(self._fine_tune, "vos-fine-tune")
        self.state = "idle"
        self.progress = (0, 0)
        self.target_stamp: Stamp | None = None
        self.finetune_seconds = 0.0
        self.last_error = ""
        self.inits = 0

    # -- called from the frame worker ------------------------------------------------
    def track(self, rgb: np.ndarray) -> np.ndarray | None:
        """(H, W) bool mask of the target in ``rgb``, or None when not tracking."""
        segmenter = self._segmenter
        if segmenter is None:
            return None
        probability = segmenter.segment(rgb)
        return upsample_probability(probability, rgb.shape[:2]) > self.params.threshold

    # -- called from the node's callbacks -----------------------------------------------
    def reject(self, reason: str) -> None:
        """Record a refused init (diagnostics' ``vos_last_error``); the target is kept."""
        self.last_error = reason

    def request_init(self, stamp: Stamp, mask: np.ndarray, rgb: np.ndarray) -> None:
        """Start learning the target ``mask`` (H, W bool) of ``rgb``, the frame stamped
        ``stamp`` (the node finds it among the frames it received: ``FrameBuffer``).

        Raises:
            VOSInitError: wrong size, empty or full mask (nothing changes).
        """
        try:
            if mask.shape != rgb.shape[:2]:
                raise VOSInitError(
                    f"the mask is {mask.shape[1]}x{mask.shape[0]}, the frame "
                    f"{rgb.shape[1]}x{rgb.shape[0]}"
                )
            if not mask.any():
                raise VOSInitError("the mask is empty: mark the target with non-zero pixels")
            if mask.all():
                raise VOSInitError("the mask covers the whole frame: nothing is background")
        except VOSInitError as exc:
            self.reject(str(exc))
            raise
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._segmenter = None
            self.state, self.progress = "fine-tuning", (0, self.params.finetune_steps)
            self.target_stamp, self.last_error = stamp, ""
            self.inits += 1
        self._fine_tuner.start()  # no-op while it runs; restarts it after a death
        self._fine_tuner.submit((generation, rgb, mask.copy()))

    def _fine_tune(self, request: tuple[int, np.ndarray, np.ndarray]) -> None:
        generation, rgb, mask = request

        def current() -> bool:
            return self._generation == generation

        if not current():
            return  # replaced or reset before it started

        def progress(done: int, total: int) -> None:
            if current():
                self.progress = (done, total)

        try:
            segmenter = VideoObjectSegmenter(self.parent, self.params, self.device)
            seconds = segmenter.init(rgb, mask, progress, should_stop=lambda: not current())
        except Exception as exc:
            with self._lock:
                if current():
                    self.state, self.last_error = "idle", f"fine-tuning failed: {exc}"
            self.log(f"VOS fine-tuning failed: {exc}")
            return
        with self._lock:
            if not current():
                return  # replaced or reset meanwhile
            self._segmenter, self.state, self.finetune_seconds = segmenter, "tracking", seconds
        self.log(f"VOS target learnt in {seconds:.1f} s; tracking")

    def reset(self) -> None:
        """Forget the target (abandon a fine-tuning in progress)."""
        with self._lock:
            self._generation += 1
            self._segmenter, self.state, self.progress = None, "idle", (0, 0)
            self.target_stamp = None

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no fine-tuning runs or waits (tests, shutdown)."""
        return self._fine_tuner.wait_idle(timeout)

    def status(self) -> dict[str, str]:
        """Diagnostics values: state (with progress), target stamp, cost, last error."""
        state = self.state
        if state == "fine-tuning":
            state = f"fine-tuning {self.progress[0]}/{self.progress[1]}"
        values = {"vos_state": state, "vos_inits": str(self.inits)}
        if self.target_stamp is not None:
            values["vos_target_stamp"] = stamp_text(self.target_stamp)
        if self.finetune_seconds:
            values["vos_finetune_seconds"] = f"{self.finetune_seconds:.1f}"
        if self.last_error:
            values["vos_last_error"] = self.last_error
        return values
