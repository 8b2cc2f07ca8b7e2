"""A stage with one parameter, written as a new capability would be: this module and
one line in ``stages.registry`` (the test adds that line before anything reads it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from seg_perception.parameters import ParamSpec
from seg_perception.stages.base import BuildContext, Frame, Output, StageSpec


class ScaledLabelsStage:
    """``toy/scaled``: the labels times ``gain`` (mono8, saturated)."""

    name = "toy"
    consumes = ("labels",)
    produces = ("toy/scaled",)
    outputs = (Output("toy/scaled", "toy/scaled", "mono8"),)

    def __init__(self, gain: int):
        self.gain = gain

    def __call__(self, frame: Frame) -> dict[str, Any]:
        labels = frame.data["labels"].astype(np.int32)
        return {"toy/scaled": np.minimum(labels * self.gain, 255).astype(np.uint8)}


def _build(params: Any, context: BuildContext) -> ScaledLabelsStage | None:
    return ScaledLabelsStage(params.toy_gain) if params.toy_gain else None


TOY_STAGE = StageSpec(
    "toy",
    (ParamSpec("toy_gain", 0, "Publish the labels times this on ~/toy/scaled", bounds=(0, 50)),),
    _build,
)
