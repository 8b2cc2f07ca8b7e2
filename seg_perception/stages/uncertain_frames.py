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

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..classes import ClassSet
from ..parameters import ParamSpec
from ..stamps import Stamp, frame_name
from .base import BuildContext, Frame, StageSpec
from .labelling_folder import CSV_HEADER, LabellingFolder, Save, labelmap_text

__all__ = [
    "UncertainFramesStage",
    "UNCERTAIN_FRAMES_STAGE",
    "UNCERTAIN_STATISTICS",
    "CSV_HEADER",
    "frame_score",
    "labelmap_text",
]

UNCERTAIN_STATISTICS = ("mean", "quantile")
_SCORE_SAMPLES = 1 << 16  # confidence is smooth (computed at a stride): a grid this big will do


def frame_score(confidence: np.ndarray, statistic: str, quantile: float) -> float:
    """Mean, or ``quantile``, of an (H, W) confidence map, on a grid of at most about
    ``_SCORE_SAMPLES`` pixels."""
    step = max(1, math.isqrt(confidence.size // _SCORE_SAMPLES))
    sample = confidence[::step, ::step]
    if statistic == "mean":
        return float(sample.mean())
    return float(np.quantile(sample, quantile))


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
        self.threshold, self.statistic, self.quantile = threshold, statistic, quantile
        self.statistic_label = "mean" if statistic == "mean" else f"quantile {quantile:g}"
        self.min_interval_ns = round(min_interval_s * 1e9)
        self.skipped_interval = self.dropped = 0
        self.last_score = math.nan
        self._last_stamp_ns: int | None = None
        self.folder = LabellingFolder(root, classes, quota_bytes, queue_size, warn)

    @property
    def quota_bytes(self) -> int:
        return self.folder.quota_bytes

    @property
    def state(self) -> str:
        return self.folder.state

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued save is written (or failed); False after ``timeout`` s."""
        return self.folder.wait_idle(timeout)

    def close(self) -> None:
        """Write the queued frames, then end the writer thread."""
        self.folder.close()

    # -- the frame path ----------------------------------------------------------------
    def __call__(self, frame: Frame) -> dict[str, Any]:
        self.last_score = frame_score(frame.data["confidence"], self.statistic, self.quantile)
        if self.last_score >= self.threshold or self.folder.quota_reached:
            return {}
        sec, nanosec = frame.stamp
        if sec == 0 and nanosec == 0:  # a camera that does not stamp: the wall clock
            sec, nanosec = divmod(time.time_ns(), 1_000_000_000)
        stamp_ns = sec * 1_000_000_000 + nanosec
        last = self._last_stamp_ns
        if last is not None and last <= stamp_ns < last + max(self.min_interval_ns, 1):
            self.skipped_interval += 1
            return {}
        name = frame_name(Stamp(sec, nanosec))  # as bag-extract names its frames
        line = f"{name},{sec}.{nanosec:09d},{self.last_score:.4f},{self.statistic_label}\n"
        if self.folder.submit(Save(name, frame.rgb, frame.data["labels"], line)):
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
            "uncertain_frames_saved": self.folder.saved,
            "uncertain_frames_skipped_interval": self.skipped_interval,
            "uncertain_frames_dropped": self.dropped,
            "uncertain_frames_write_errors": self.folder.write_errors,
            "uncertain_frames_bytes": self.folder.bytes_used,
        }


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
