"""The folder the uncertain-frame saver fills, and its background writer.

``images/<name>`` (the frame, RGB), ``masks/<name>`` (its predicted labels, mono8 class
ids, written first), ``uncertain.csv`` (a line per save) and ``labelmap.txt`` (the
classes in CVAT's format). Saves wait in a queue of a few; a full queue refuses the
save (the frame path never waits). ``quota_bytes`` caps the bytes of these files, those
already there included; a write that fails is counted and warned about at most once a
minute.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..classes import ClassSet
from ..data.cvat_labelmap import labelmap_text as cvat_labelmap_text
from ..image_codec import encode_compressed
from ..io_utils import atomic_write

__all__ = ["LabellingFolder", "Save", "CSV_HEADER", "labelmap_text"]

CSV_HEADER = "file,stamp,score,statistic\n"
_WARN_PERIOD_S = 60.0
_IDLE_EXIT_S = 10.0  # an idle writer thread ends (the next save starts one)
CLOSE_TIMEOUT_S = 5.0  # closing waits this long for the queued saves
_logger = logging.getLogger(__name__)


def labelmap_text(classes: ClassSet) -> str:
    """CVAT's ``labelmap.txt`` of ``classes``, in id order (what a ``cvat`` spec reads)."""
    return cvat_labelmap_text(list(zip(classes.names, classes.colors, strict=True)))


@dataclass(frozen=True)
class Save:
    name: str
    rgb: np.ndarray
    labels: np.ndarray
    csv_line: str


class LabellingFolder:
    """Writes saves to ``root`` from a background thread.

    Args:
        root: the folder (created, with ``labelmap.txt``, at start when it can be).
        classes: the classes the masks' ids refer to.
        quota_bytes: most bytes the saved files may use.
        queue_size: saves waiting or being written; one more is refused.
        warn: takes the one-line warnings (default: Python logging).
    """

    def __init__(
        self,
        root: Path,
        classes: ClassSet,
        quota_bytes: int = 500_000_000,
        queue_size: int = 4,
        warn: Callable[[str], None] | None = None,
    ):
        self.root, self.classes = root, classes
        self.quota_bytes, self.queue_size = quota_bytes, queue_size
        self._warn = warn or _logger.warning
        self.saved = self.write_errors = self.bytes_used = 0
        self.state = "ok"
        self.quota_reached = False
        self._prepared = False
        self._failures_since_warning = 0
        self._warned_at = -math.inf
        self._jobs: deque[Save] = deque()  # the first is being written
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        try:
            self._prepare()
        except OSError as exc:
            self._failed(exc)

    def submit(self, job: Save) -> bool:
        """Queue ``job`` for the writer; False (nothing queued) when the queue is full or
        the folder is closed."""
        with self._wakeup:
            if len(self._jobs) >= self.queue_size or self._closing:
                return False
            self._jobs.append(job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._write_loop, name="uncertain-frames", daemon=True
                )
                self._thread.start()
            self._wakeup.notify_all()
            return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued save is written (or failed); False after ``timeout`` s."""
        with self._wakeup:
            return self._wakeup.wait_for(lambda: not self._jobs, timeout)

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Write what is queued (up to ``timeout`` s), then end the writer thread."""
        with self._wakeup:
            self._closing = True
            self._wakeup.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _write_loop(self) -> None:
        while True:
            with self._wakeup:
                woken = self._wakeup.wait_for(lambda: self._jobs or self._closing, _IDLE_EXIT_S)
                if not woken or not self._jobs:  # idle, or closed with nothing queued
                    self._thread = None
                    return
                job = self._jobs[0]
            try:
                self._write(job)
            finally:
                with self._wakeup:
                    self._jobs.popleft()
                    self._wakeup.notify_all()

    def _write(self, job: Save) -> None:
        try:
            image = encode_compressed(job.rgb, "png")
            mask = _png(np.ascontiguousarray(job.labels, dtype=np.uint8))
            if not self._prepared:
                self._prepare()
            csv_path = self.root / "uncertain.csv"
            header = "" if csv_path.is_file() and csv_path.stat().st_size else CSV_HEADER
            size = len(image) + len(mask) + len(header) + len(job.csv_line)
            if self.bytes_used + size > self.quota_bytes:
                self._stop_at_quota()
                return
            added = _replace(self.root / "masks" / job.name, mask)
            added += _replace(self.root / "images" / job.name, image)
            with open(csv_path, "a", encoding="utf-8") as handle:
                handle.write(header + job.csv_line)
            self.bytes_used += added + len(header) + len(job.csv_line)
            self.saved += 1
            self.state = "ok"
        except Exception as exc:  # OSError (full disk, unwritable folder), cv2.error
            self._failed(exc)

    def _prepare(self) -> None:
        """Create the folders, write ``labelmap.txt`` and count the bytes already there
        (raises ``OSError``)."""
        for sub in ("images", "masks"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        labelmap = self.root / "labelmap.txt"
        text = labelmap_text(self.classes)
        if labelmap.is_file() and labelmap.read_text(encoding="utf-8") != text:
            self._warn(
                f"uncertain frames: {labelmap} listed other classes; replaced by the model's"
            )
        with atomic_write(labelmap) as tmp:
            tmp.write_text(text, encoding="utf-8")
        self._prepared = True
        self.bytes_used = self._bytes_on_disk()
        if self.bytes_used >= self.quota_bytes:
            self._stop_at_quota()

    def _bytes_on_disk(self) -> int:
        files = [self.root / "uncertain.csv", self.root / "labelmap.txt"]
        for sub in ("images", "masks"):
            files.extend((self.root / sub).iterdir())
        return sum(path.stat().st_size for path in files if path.is_file())

    def _stop_at_quota(self) -> None:
        if self.quota_reached:
            return
        self.quota_reached = True
        self.state = "quota reached"
        self._warn(
            f"uncertain frames: {self.root} holds {self.bytes_used / 1e6:.1f} MB, the quota is "
            f"{self.quota_bytes / 1e6:.1f} MB: saving stopped"
        )

    def _failed(self, exc: Exception) -> None:
        """Count a failed write and warn, at most once every ``_WARN_PERIOD_S``."""
        reason = str(exc) if isinstance(exc, OSError) else f"{exc.__class__.__name__}: {exc}"
        self.write_errors += 1
        self.state = f"cannot write: {reason}"
        self._failures_since_warning += 1
        now = time.monotonic()
        if now - self._warned_at >= _WARN_PERIOD_S:
            self._warn(
                f"uncertain frames: cannot write to {self.root} ({reason}); "
                f"{self._failures_since_warning} failure(s) since the last warning; frames go on"
            )
            self._warned_at, self._failures_since_warning = now, 0


def _png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"PNG encoding failed for a {image.shape} {image.dtype} array")
    return encoded.tobytes()


def _replace(path: Path, data: bytes) -> int:
    """Write ``data`` to ``path`` atomically; the bytes it adds (an older file of the
    same name, e.g. a bag played again, is replaced)."""
    previous = path.stat().st_size if path.is_file() else 0
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)
    return len(data) - previous
