"""The instance stage the node and bag evaluation share: mode off, fast or maskrcnn.

``fast`` splits the predicted labels of the thing classes into connected components
(scored by their mean confidence); ``maskrcnn`` runs the Mask R-CNN checkpoint on
the frame. Either way: instances best first, their ids, the id image and a picture.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..checkpoint import INSTANCE_CHECKPOINT, CheckpointError
from ..classes import ClassSet
from ..device import select_device
from .components import Instance, instances_from_labels
from .detections import detections_json
from .encoding import assign_instance_ids, encode_instance_ids
from .maskrcnn import detect_instances, load_instance_model
from .render import instance_overlay

__all__ = ["InstanceSegmenter", "InstanceResult", "INSTANCE_MODES"]

INSTANCE_MODES = ("off", "fast", "maskrcnn")


@dataclass
class InstanceResult:
    instances: list[Instance]
    ids: list[int]  # id of each instance (0: beyond the per-class limit)
    id_image: np.ndarray  # (H, W) uint16
    timings_ms: dict[str, float] = field(default_factory=dict)

    def overlay(self, rgb: np.ndarray) -> np.ndarray:
        return instance_overlay(rgb, self.instances, self.ids)


class InstanceSegmenter:
    """Instances of one frame.

    Args:
        mode: ``fast`` or ``maskrcnn``.
        classes: the semantic class set (ids and names of the label image).
        thing_classes: names of the object classes (``fast``; Mask R-CNN has its own,
            which must all be in ``classes``).
        min_area: smallest ``fast`` instance in pixels of the frame.
        checkpoint: Mask R-CNN checkpoint; empty = the bundled one.
        score_threshold: Mask R-CNN detections below it are dropped.
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
    """

    def __init__(
        self,
        mode: str,
        classes: ClassSet,
        thing_classes: Sequence[str] = ("Car", "Pedestrian", "Bicyclist"),
        min_area: int = 50,
        checkpoint: str | os.PathLike = "",
        score_threshold: float = 0.5,
        device: str = "auto",
    ):
        if mode not in INSTANCE_MODES[1:]:
            raise ValueError(f"instance mode must be fast or maskrcnn, got {mode!r}")
        self.mode, self.classes = mode, classes
        self.min_area, self.score_threshold = min_area, score_threshold
        self.device = select_device(device)
        try:
            self.thing_ids = classes.ids_of(thing_classes)
        except ValueError as exc:
            raise ValueError(f"thing classes: {exc}") from None
        self.model = None
        if mode == "maskrcnn":
            path = checkpoint or INSTANCE_CHECKPOINT
            model, payload = load_instance_model(path)
            try:
                self.detector_class_ids = classes.ids_of(payload["thing_classes"])
            except ValueError as exc:
                raise CheckpointError(f"{path} detects classes: {exc}") from None
            self.model = model.to(self.device)

    def __call__(
        self, rgb: np.ndarray, labels: np.ndarray, confidence: np.ndarray | None = None
    ) -> InstanceResult:
        started = time.perf_counter()
        if self.mode == "fast":
            instances = instances_from_labels(labels, self.thing_ids, self.min_area, confidence)
            instances.sort(key=lambda inst: -inst.score)
        else:
            instances = detect_instances(
                self.model, rgb, self.detector_class_ids, self.score_threshold, device=self.device
            )
        ids = assign_instance_ids(instances)
        id_image = encode_instance_ids(instances, labels.shape, ids)
        timings = {"instances": 1e3 * (time.perf_counter() - started)}
        return InstanceResult(instances, ids, id_image, timings)

    def detections_json(self, found: InstanceResult, stamp: tuple[int, int], frame_id: str) -> str:
        """The ``~/instances/detections`` document of ``found`` (see ``detections``)."""
        return detections_json(
            stamp,
            frame_id,
            self.mode,
            found.id_image.shape,
            found.instances,
            found.ids,
            self.classes.names,
        )
