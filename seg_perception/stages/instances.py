"""Optional stage: instance masks (``instance_mode`` fast or maskrcnn)."""

from __future__ import annotations

from typing import Any

from ..classes import ClassSet
from ..instances.segmenter import INSTANCE_MODES, InstanceSegmenter
from ..parameters import ParameterError, ParamSpec
from .base import JSON, BuildContext, Frame, Output, StageSpec

__all__ = ["InstanceOutputsStage", "INSTANCE_STAGE"]


class InstanceOutputsStage:
    """``instances/ids`` (mono16, class_id * 1000 + n), ``instances/overlay`` (rgb8) and
    ``instances/detections`` (JSON). Sub-timing ``instances``: finding them alone."""

    name = "instances_total"
    consumes = ("labels", "confidence")
    produces = ("instances/ids", "instances/overlay", "instances/detections", "instance_count")
    outputs = (
        Output("instances/ids", "instances/ids", "mono16"),
        Output("instances/overlay", "instances/overlay", "rgb8"),
        Output("instances/detections", "instances/detections", JSON),
    )

    def __init__(self, segmenter: InstanceSegmenter):
        self.segmenter = segmenter

    @property
    def mode(self) -> str:
        return self.segmenter.mode

    def __call__(self, frame: Frame) -> dict[str, Any]:
        found = self.segmenter(frame.rgb, frame.data["labels"], frame.data["confidence"])
        frame.timings_ms.update(found.timings_ms)
        return {
            "instances/ids": found.id_image,
            "instances/overlay": found.overlay(frame.rgb),
            "instances/detections": self.segmenter.detections_json(
                found, frame.stamp, frame.frame_id
            ),
            "instance_count": len(found.instances),
        }


def _build(params: Any, context: BuildContext) -> InstanceOutputsStage | None:
    if params.instance_mode == "off":
        return None
    return InstanceOutputsStage(
        InstanceSegmenter(
            params.instance_mode,
            context.classes,
            params.thing_classes,
            params.instance_min_area,
            params.instance_checkpoint,
            params.instance_score_threshold,
            context.device,
        )
    )


def _validate(params: Any, classes: ClassSet | None) -> None:
    if params.instance_mode == "fast" and classes is not None:  # None: checked when built
        try:
            classes.ids_of(params.thing_classes)
        except ValueError as exc:
            raise ParameterError(f"thing_classes {exc}") from None


INSTANCE_STAGE = StageSpec(
    "instances",
    (
        ParamSpec(
            "instance_mode",
            "off",
            "Instance masks: off (no cost), fast (connected components of the thing classes "
            "in ~/labels) or maskrcnn (the Mask R-CNN checkpoint)",
            choices=INSTANCE_MODES,
        ),
        ParamSpec(
            "thing_classes",
            ["Car", "Pedestrian", "Bicyclist"],
            "Names of the object classes the fast mode splits into instances",
        ),
        ParamSpec(
            "instance_min_area",
            50,
            "Smallest fast-mode instance, in pixels of the input frame",
            bounds=(1, 1_000_000),
        ),
        ParamSpec(
            "instance_checkpoint", "", "Mask R-CNN checkpoint; empty = the bundled CamVid model"
        ),
        ParamSpec(
            "instance_score_threshold",
            0.5,
            "Mask R-CNN detections scoring below this are dropped",
            bounds=(0.0, 1.0),
        ),
    ),
    _build,
    _validate,
)
