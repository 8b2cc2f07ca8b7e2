"""What the browser view shows, shared between the ROS callbacks and the web server.

ROS callbacks only store the newest overlay, labels, camera frame, class list and
diagnostics (under a lock, no encoding); the server thread encodes a JPEG once per new
frame when a browser asks for it and reads the rest as a JSON snapshot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

__all__ = ["LiveState", "Picture"]

JPEG_QUALITY = 80


@dataclass
class Picture:
    """The newest frame: ``seq`` grows by one per overlay received."""

    seq: int
    jpeg: bytes
    width: int
    height: int


@dataclass
class _Latest:
    seq: int = 0
    overlay: np.ndarray | None = None
    camera: np.ndarray | None = None
    labels: np.ndarray | None = None
    received_at: float | None = None  # monotonic time of the newest overlay
    frames: int = 0
    classes: list[dict] = field(default_factory=list)
    taught: list[str] = field(default_factory=list)
    diagnostics: dict = field(default_factory=dict)


class LiveState:
    """The newest of everything, thread-safe; ``on_frame`` callbacks (the server's
    wake-up) run on the thread that stores a frame and must not block.

    Args:
        overlay_topic: shown in the "no frames" state.
        side_by_side: show camera | overlay when a camera frame is known.
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        overlay_topic: str,
        side_by_side: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.overlay_topic, self.side_by_side, self._clock = overlay_topic, side_by_side, clock
        self._lock = threading.Lock()
        self._latest = _Latest()
        self._picture: Picture | None = None
        self._shares: tuple[int, list[float]] | None = None
        self.started_at = clock()
        self.on_frame: list[Callable[[], None]] = []

    # ------------------------------------------------------------ ROS side (no blocking)
    def set_overlay(self, rgb: np.ndarray) -> None:
        with self._lock:
            latest = self._latest
            latest.overlay, latest.seq = rgb, latest.seq + 1
            latest.received_at, latest.frames = self._clock(), latest.frames + 1
        for callback in list(self.on_frame):
            callback()

    def set_camera(self, rgb: np.ndarray) -> None:
        with self._lock:
            self._latest.camera = rgb

    def set_labels(self, labels: np.ndarray) -> None:
        with self._lock:
            self._latest.labels = labels

    def set_classes(self, classes: list[dict], taught: list[str]) -> None:
        with self._lock:
            self._latest.classes, self._latest.taught = classes, taught

    def set_diagnostics(self, level: str, message: str, values: dict[str, str]) -> None:
        with self._lock:
            self._latest.diagnostics = {"level": level, "message": message, **values}

    # ------------------------------------------------------------ server side
    @property
    def seq(self) -> int:
        return self._latest.seq

    def picture(self) -> Picture | None:
        """The newest frame as a JPEG, encoded once per frame (None before the first)."""
        with self._lock:
            seq, overlay, camera = self._latest.seq, self._latest.overlay, self._latest.camera
            cached = self._picture
        if overlay is None:
            return None
        if cached is not None and cached.seq == seq:
            return cached
        image = overlay
        if self.side_by_side and camera is not None:
            if camera.shape[:2] != overlay.shape[:2]:
                camera = cv2.resize(camera, overlay.shape[1::-1], interpolation=cv2.INTER_AREA)
            image = np.hstack([camera, overlay])
        ok, encoded = cv2.imencode(
            ".jpg",
            cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
        )
        if not ok:
            return None
        picture = Picture(seq, encoded.tobytes(), image.shape[1], image.shape[0])
        with self._lock:
            if self._picture is None or self._picture.seq < seq:
                self._picture = picture
        return picture

    def snapshot(self, stale_after_s: float) -> dict:
        """Everything but the picture, for ``/state.json``."""
        with self._lock:
            latest = self._latest
            classes, taught = list(latest.classes), list(latest.taught)
            labels, seq = latest.labels, latest.seq
            received_at, frames = latest.received_at, latest.frames
            diagnostics = dict(latest.diagnostics)
        now = self._clock()
        age = None if received_at is None else now - received_at
        waited = now - self.started_at if received_at is None else age
        shares = self._class_shares(seq, labels, len(classes))
        stale = waited is not None and waited > stale_after_s
        return {
            "seq": seq,
            "frames": frames,
            "topic": self.overlay_topic,
            "frame_age_s": None if age is None else round(age, 2),
            "stale": stale,
            "status": (
                f"no frames on {self.overlay_topic} for {waited:.0f} s" if stale else "live"
            ),
            "classes": [
                {
                    **c,
                    "share": shares[i] if i < len(shares) else None,
                    "taught": c["name"] in taught,
                }
                for i, c in enumerate(classes)
            ],
            "diagnostics": diagnostics,
        }

    def _class_shares(self, seq: int, labels: np.ndarray | None, count: int) -> list[float]:
        """Each class's share of the newest label image (cached per frame)."""
        if labels is None or count == 0:
            return []
        cached = self._shares
        if cached is not None and cached[0] == seq and len(cached[1]) == count:
            return cached[1]
        counts = np.bincount(labels.ravel(), minlength=256)[:count]
        shares = [round(float(c) / labels.size, 4) for c in counts]
        self._shares = (seq, shares)
        return shares
