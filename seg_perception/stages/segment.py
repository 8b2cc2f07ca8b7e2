"""The stages every frame goes through: segmentation, then the colour overlay."""

from __future__ import annotations

from typing import Any

from ..inference.segmentation_pipeline import SegmentationPipeline
from .base import Frame, Output

__all__ = ["SegmentStage", "OverlayStage"]


class SegmentStage:
    """Class ids and confidence at the frame's size (``SegmentationPipeline``; no
    confidence when the frame does not need it), and the softmax at the network's size
    when the pipeline keeps it (``probabilities``).

    Adds the network's ``preprocess``, ``inference`` and ``postprocess`` sub-timings.
    """

    name = "segment"
    consumes: tuple[str, ...] = ()
    outputs = (Output("labels", "labels", "mono8"), Output("confidence", "confidence", "32FC1"))

    def __init__(self, pipeline: SegmentationPipeline):
        self.pipeline = pipeline
        kept = ("probabilities",) if pipeline.keeps_probabilities else ()
        self.produces = ("labels", "confidence", *kept)

    def __call__(self, frame: Frame) -> dict[str, Any]:
        result = self.pipeline(frame.rgb, confidence=frame.needs("confidence"))
        frame.timings_ms.update(result.timings_ms)
        data = {"labels": result.labels}
        if result.confidence is not None:
            data["confidence"] = result.confidence
        if result.probabilities is not None:
            data["probabilities"] = result.probabilities
        return data


class OverlayStage:
    """Class colours blended over the frame; ``alpha`` may change between frames."""

    name = "overlay"
    consumes = ("labels",)
    produces = ("overlay",)
    outputs = (Output("overlay", "overlay", "rgb8"),)

    def __init__(self, pipeline: SegmentationPipeline, alpha: float = 0.5):
        self.pipeline = pipeline
        self.alpha = alpha

    def __call__(self, frame: Frame) -> dict[str, Any]:
        return {"overlay": self.pipeline.overlay(frame.rgb, frame.data["labels"], self.alpha)}
