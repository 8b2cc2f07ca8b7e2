"""Optional stage: save the frames the network is least sure about, for the next round
of labelling (``uncertain_frames_dir``).

Every frame gets a score: the mean of ``confidence`` (the per-pixel max softmax) or its
low quantile. A frame scoring below ``uncertain_threshold``, at least
``uncertain_min_interval_s`` of stamp time after the last one saved (a stamp going back
starts afresh), goes to a background writer through a queue of a few frames; a full
queue drops the frame and counts it, so saving never blocks the frame path. The folder:

- ``images/<sec>_<nanosec>.png``: the frame (RGB);
- ``masks/<sec>_<nanosec>.png``: its predicted labels, mono8 class ids (a starting mask
  in ``index`` format), written before the image, each atomically;
- ``uncertain.csv``: ``file,stamp,score,statistic``, a line per saved frame;
- ``labelmap.txt``: the classes in CVAT's format.

``uncertain_quota_mb`` caps the bytes of these files, those already there included: a
save that would exceed it is not made, and saving stops. A failing write (a full disk,
an unwritable folder) is counted and logged at most once a minute; nothing stops.
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
from typing import Any

import cv2
import numpy as np

from ..classes import ClassSet
from ..data.cvat_labelmap import labelmap_text as cvat_labelmap_text
from ..io_utils import atomic_write
from ..parameters import ParamSpec
from .base import BuildContext, Frame, StageSpec

__all__ = [
    "UncertainFramesStage",
    "UNCERTAIN_FRAMES_STAGE",
    "UNCERTAIN_STATISTICS",
    "frame_score",
    "labelmap_text",
]

UNCERTAIN_STATISTICS = ("mean", "quantile")
CSV_HEADER = "file,stamp,score,statistic\n"
_SCORE_SAMPLES = 1 << 16  # confidence is smooth (computed at a stride): a grid this big will do
_WARN_PERIOD_S = 60.0
_IDLE_EXIT_S = 10.0  # an idle writer thread ends (the next save starts one)
_logger = logging.getLogger(__name__)


def frame_score(confidence: np.ndarray, statistic: str, quantile: float) -> float:
    """Mean, or ``quantile``, of an (H, W) confidence map, on a grid of at most about
    ``_SCORE_SAMPLES`` pixels."""
    step = max(1, math.isqrt(confidence.size // _SCORE_SAMPLES))
    sample = confidence[::step, ::step]
    if statistic == "mean":
        return float(sample.mean())
    return float(np.quantile(sample, quantile))


def labelmap_text(classes: ClassSet) -> str:
    """CVAT's ``labelmap.txt`` of ``classes``, in id order (what a ``cvat`` spec reads)."""
    return cvat_labelmap_text(list(zip(classes.names, classes.colors, strict=True)))


@dataclass(frozen=True)
class _Save:
    name: str
    rgb: np.ndarray
    labels: np.ndarray
    csv_line: str


class UncertainFramesStage:
    """Scores each frame and hands the uncertain ones to a background writer.

    Args:
        root: the folder (created, with ``labelmap.txt``, at start when it can be).
        classes: the classes the masks' ids refer to.
        threshold: a frame is saved when its score is below it.
        statistic: ``mean`` or ``quantile``.
        quantile: the low quantile of the ``quantile`` statistic.
        min_interval_s: stamp seconds from one save to the next.
        quota_bytes: most bytes the saved files may use.
        queue_size: saves waiting or being written; one more is dropped.
        warn: takes the one-line warnings (default: Python logging).
    """

    name = "uncertain_frames"
    consumes = ("labels", "confidence")
    produces: tuple[str, ...] = ()
    outputs = ()

    def __init__(
        self,
        root: Path,
        classes: ClassSet,
        threshold: float = 0.6,
        statistic: str = "mean",
        quantile: float = 0.1,
        min_interval_s: float = 5.0,
        quota_bytes: int = 500_000_000,
        queue_size: int = 4,
        warn: Callable[[str], None] | None = None,
    ):
        self.root, self.classes = root, classes
        self._warn = warn or _logger.warning
        self.threshold, self.statistic, self.quantile = threshold, statistic, quantile
        self.statistic_label = "mean" if statistic == "mean" else f"quantile {quantile:g}"
        self.min_interval_ns = round(min_interval_s * 1e9)
        self.quota_bytes, self.queue_size = quota_bytes, queue_size
        self.saved = self.skipped_interval = self.dropped = self.write_errors = 0
        self.bytes_used = 0
        self.last_score = math.nan
        self.state = "ok"
        self.quota_reached = False
        self._last_stamp_ns: int | None = None
        self._prepared = False
        self._failures_since_warning = 0
        self._warned_at = -math.inf
        self._jobs: deque[_Save] = deque()  # the first is being written
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None
        try:
            self._prepare()
        except OSError as exc:
            self._failed(exc)

    # -- the frame path ----------------------------------------------------------------
    def __call__(self, frame: Frame) -> dict[str, Any]:
        self.last_score = frame_score(frame.data["confidence"], self.statistic, self.quantile)
        if self.last_score >= self.threshold or self.quota_reached:
            return {}
        sec, nanosec = frame.stamp
        stamp_ns = sec * 1_000_000_000 + nanosec
        last = self._last_stamp_ns
        if last is not None and last <= stamp_ns < last + max(self.min_interval_ns, 1):
            self.skipped_interval += 1
            return {}
        name = f"{sec}_{nanosec:09d}.png"
        line = f"{name},{sec}.{nanosec:09d},{self.last_score:.4f},{self.statistic_label}\n"
        if self._enqueue(_Save(name, frame.rgb, frame.data["labels"], line)):
            self._last_stamp_ns = stamp_ns
        else:
            self.dropped += 1
        return {}

    def values(self) -> dict[str, str]:
        """Diagnostics: the saver's state and the last frame's score."""
        return {
            "uncertain_frames_state": self.state,
            "uncertain_frames_score": f"{self.last_score:.3f}",
        }

    def counters(self) -> dict[str, int]:
        """Diagnostics: saves, skips, drops, write errors and bytes used."""
        return {
            "uncertain_frames_saved": self.saved,
            "uncertain_frames_skipped_interval": self.skipped_interval,
            "uncertain_frames_dropped": self.dropped,
            "uncertain_frames_write_errors": self.write_errors,
            "uncertain_frames_bytes": self.bytes_used,
        }

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued save is written (or failed); False after ``timeout`` s."""
        with self._wakeup:
            return self._wakeup.wait_for(lambda: not self._jobs, timeout)

    def _enqueue(self, job: _Save) -> bool:
        with self._wakeup:
            if len(self._jobs) >= self.queue_size:
                return False
            self._jobs.append(job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._write_loop, name="uncertain-frames", daemon=True
                )
                self._thread.start()
            self._wakeup.notify_all()
            return True

    # -- the writer thread ---------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            with self._wakeup:
                if not self._wakeup.wait_for(lambda: self._jobs, _IDLE_EXIT_S):
                    self._thread = None
                    return
                job = self._jobs[0]
            try:
                self._write(job)
            finally:
                with self._wakeup:
                    self._jobs.popleft()
                    self._wakeup.notify_all()

    def _write(self, job: _Save) -> None:
        try:
            image = _png(cv2.cvtColor(job.rgb, cv2.COLOR_RGB2BGR))
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


def _build(params: Any, context: BuildContext) -> UncertainFramesStage | None:
    if not params.uncertain_frames_dir:
        return None
    root = Path(params.uncertain_frames_dir).expanduser()
    stage = UncertainFramesStage(
        root,
        context.classes,
        threshold=params.uncertain_threshold,
        statistic=params.uncertain_statistic,
        quantile=params.uncertain_quantile,
        min_interval_s=params.uncertain_min_interval_s,
        quota_bytes=round(params.uncertain_quota_mb * 1e6),
        warn=context.warn,
    )
    context.log(
        f"uncertain frames: saving frames whose {stage.statistic_label} confidence is below "
        f"{stage.threshold:g} to {root} (every {params.uncertain_min_interval_s:g} s at most, "
        f"up to {params.uncertain_quota_mb:g} MB; {stage.state})"
    )
    return stage


UNCERTAIN_FRAMES_STAGE = StageSpec(
    "uncertain_frames",
    (
        ParamSpec(
            "uncertain_frames_dir",
            "",
            "Folder where frames the network is unsure of are saved for labelling "
            "(images/, masks/ with the predicted class ids, uncertain.csv, CVAT "
            "labelmap.txt); empty = off",
        ),
        ParamSpec(
            "uncertain_threshold",
            0.6,
            "A frame is saved when its confidence score (uncertain_statistic) is below it",
            bounds=(0.0, 1.0),
            low_open=True,
        ),
        ParamSpec(
            "uncertain_statistic",
            "mean",
            "The frame's score: mean (of the per-pixel max softmax) or quantile (its "
            "uncertain_quantile low quantile: small unsure regions count)",
            choices=UNCERTAIN_STATISTICS,
        ),
        ParamSpec(
            "uncertain_quantile",
            0.1,
            "The low quantile of the quantile statistic",
            bounds=(0.0, 0.5),
            low_open=True,
        ),
        ParamSpec(
            "uncertain_min_interval_s",
            5.0,
            "Least stamp time in seconds between two saved frames",
            bounds=(0.0, 86400.0),
        ),
        ParamSpec(
            "uncertain_quota_mb",
            500.0,
            "Saving stops when the folder's saved files would exceed this many MB "
            "(files already there count)",
            bounds=(0.0, 1e7),
            low_open=True,
        ),
    ),
    _build,
)
