"""Optional stage: dense CRF refinement of the labels (``refine: crf``)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..classes import ClassSet
from ..inference.segmentation_pipeline import resize_to_frame
from ..parameters import ParameterError, ParamSpec
from ..refine.dense_crf import CRFParams, DenseCRF
from .base import BuildContext, Frame, StageSpec

__all__ = ["CRFStage", "CRF_STAGE", "REFINE_MODES", "crf_params_of"]

REFINE_MODES = ("none", "crf")
_DEFAULTS = CRFParams()


class CRFStage:
    """Replaces ``labels`` and ``confidence`` by the CRF's argmax and max marginal.

    The CRF runs at the network's size (where the probabilities are) on the frame
    resized the way the network saw it; its labels are then resized to the frame.
    Runs before the overlay, so every output shows refined labels.
    """

    name = "crf"
    consumes = ("probabilities",)
    produces = ("labels", "confidence")
    outputs = ()

    def __init__(self, crf: DenseCRF):
        self.crf = crf

    def __call__(self, frame: Frame) -> dict[str, Any]:
        probabilities = frame.data["probabilities"]
        height, width = probabilities.shape[1:]
        rgb = frame.rgb
        if rgb.shape[:2] != (height, width):
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
        marginals = self.crf(probabilities, rgb)
        labels = marginals.argmax(axis=0).astype(np.uint8)
        confidence = marginals.max(axis=0)
        labels, confidence = resize_to_frame(labels, confidence, frame.rgb.shape[:2])
        return {"labels": labels, "confidence": confidence}


def crf_params_of(params: Any) -> CRFParams:
    """The ``crf_*`` parameters as ``CRFParams``."""
    return CRFParams(
        iterations=params.crf_iterations,
        smoothness_weight=params.crf_smoothness_weight,
        smoothness_sxy=params.crf_smoothness_sxy,
        appearance_weight=params.crf_appearance_weight,
        appearance_sxy=params.crf_appearance_sxy,
        appearance_srgb=params.crf_appearance_srgb,
    )


def _build(params: Any, context: BuildContext) -> CRFStage | None:
    if params.refine == "none":
        return None
    crf = DenseCRF(crf_params_of(params))  # CRFUnavailable (one line) without pydensecrf2
    context.log(f"refine: dense CRF {crf.params.as_dict()}")
    return CRFStage(crf)


def _validate(params: Any, classes: ClassSet | None) -> None:
    if params.refine == "crf" and params.inference_precision == "int8":
        raise ParameterError(
            "refine crf needs the class probabilities, which an INT8 model does not output: "
            "set inference_precision fp32"
        )


CRF_STAGE = StageSpec(
    "crf",
    (
        ParamSpec(
            "refine",
            "none",
            "Label refinement: none, or crf (a dense CRF over the softmax and the frame; "
            "needs pip install pydensecrf2; hundreds of ms per frame on a CPU)",
            choices=REFINE_MODES,
        ),
        ParamSpec(
            "crf_iterations", _DEFAULTS.iterations, "CRF mean-field iterations", bounds=(1, 50)
        ),
        ParamSpec(
            "crf_smoothness_weight",
            _DEFAULTS.smoothness_weight,
            "Weight of the CRF's position-only Gaussian kernel (0 = off)",
            bounds=(0.0, 100.0),
        ),
        ParamSpec(
            "crf_smoothness_sxy",
            _DEFAULTS.smoothness_sxy,
            "Width of the Gaussian kernel, in network-input pixels",
            bounds=(0.0, 1000.0),
            low_open=True,
        ),
        ParamSpec(
            "crf_appearance_weight",
            _DEFAULTS.appearance_weight,
            "Weight of the CRF's bilateral (position and colour) kernel (0 = off)",
            bounds=(0.0, 100.0),
        ),
        ParamSpec(
            "crf_appearance_sxy",
            _DEFAULTS.appearance_sxy,
            "Spatial width of the bilateral kernel, in network-input pixels",
            bounds=(0.0, 1000.0),
            low_open=True,
        ),
        ParamSpec(
            "crf_appearance_srgb",
            _DEFAULTS.appearance_srgb,
            "Colour width of the bilateral kernel, in RGB levels (0..255)",
            bounds=(0.0, 255.0),
            low_open=True,
        ),
    ),
    _build,
    _validate,
    refines=True,
)
