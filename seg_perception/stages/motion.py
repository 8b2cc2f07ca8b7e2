"""Optional stage: the moving object (two-stream model on optical flow), ``use_flow``."""

from __future__ import annotations

from typing import Any

import torch

from ..checkpoint import MOTION_CHECKPOINTS
from ..inference.backends import compile_network
from ..inference.onnx_cache import cached_onnx, file_sha256
from ..motion import DIS_PRESETS, FLOW_METHODS
from ..motion.motion_pipeline import MotionPipeline, load_motion_model, motion_outputs
from ..parameters import ParamSpec
from ..refine.dense_crf import DenseCRF
from .base import BuildContext, Frame, Output, StageSpec
from .crf import crf_params_of

__all__ = ["MotionStage", "MOTION_STAGE"]


class MotionStage:
    """``motion`` (mono8, 255 on the moving object) and ``flow`` (rgb8 picture).

    A frame that restarts the flow stream (first frame, stamp going back, long gap, new
    size) produces neither. Sub-timings: ``flow``, ``motion_inference`` and, with
    ``motion_crf``, ``motion_crf``.
    """

    name = "motion_total"
    consumes: tuple[str, ...] = ()
    produces = ("motion", "flow")
    outputs = (Output("motion", "motion", "mono8"), Output("flow", "flow", "rgb8"))

    def __init__(self, pipeline: MotionPipeline):
        self.pipeline = pipeline

    def __call__(self, frame: Frame) -> dict[str, Any]:
        result = self.pipeline(frame.rgb, frame.stamp_s)
        if "flow" in result.timings_ms:
            frame.timings_ms["flow"] = result.timings_ms["flow"]
        if result.foreground is None:
            return {}
        frame.timings_ms["motion_inference"] = result.timings_ms["inference"]
        if "crf" in result.timings_ms:
            frame.timings_ms["motion_crf"] = result.timings_ms["crf"]
        return {name: pixels for name, pixels, _ in motion_outputs(result, frame.rgb.shape[:2])}

    def counters(self) -> dict[str, int]:
        """Flow-stream restarts by reason, for diagnostics."""
        return {f"flow_resets ({reason})": n for reason, n in self.pipeline.stream.resets.items()}


def _build(params: Any, context: BuildContext) -> MotionStage | None:
    if not params.use_flow:
        return None
    path = params.motion_checkpoint or str(MOTION_CHECKPOINTS["two_stream"][0])
    model, payload = load_motion_model(path, expected_classes=context.classes)
    trained = payload["flow"]
    if trained != {"method": params.flow_method, "preset": params.flow_preset}:
        context.log(
            f"{path} was trained on {trained['method']}/{trained['preset']} flow, this node "
            f"computes {params.flow_method}/{params.flow_preset}"
        )
    width, height = payload["input_size"]
    choice = context.backend
    network = compile_network(
        model,
        choice.name,
        ["foreground"],
        lambda: cached_onnx(
            model,
            [torch.zeros(1, 3, height, width), torch.zeros(1, 2, height, width)],
            ["image", "flow"],
            ["foreground"],
            "motion",
            file_sha256(path),
        )[0],
        context.device,
        params.num_threads,
    )
    # CRFUnavailable (one line) without pydensecrf2; the kernel is refine's crf_* one
    crf = DenseCRF(crf_params_of(params)) if params.motion_crf else None
    context.log(f"motion stream: {path} ({choice.name}{', dense CRF' if crf else ''})")
    return MotionStage(
        MotionPipeline.from_loaded(
            model,
            payload,
            flow_method=params.flow_method,
            flow_preset=params.flow_preset,
            max_gap_s=params.flow_max_gap,
            device=context.device,
            network=network,
            crf=crf,
        )
    )


MOTION_STAGE = StageSpec(
    "motion",
    (
        ParamSpec(
            "use_flow",
            False,
            "Run the motion stream: optical flow and a two-stream model, publishing "
            "~/motion and ~/flow (false: no flow is computed at all)",
        ),
        ParamSpec(
            "motion_checkpoint",
            "",
            "Two-stream checkpoint for ~/motion; empty = the bundled DAVIS model (fold a)",
        ),
        ParamSpec(
            "motion_crf",
            False,
            "Dense CRF on ~/motion before the threshold, with the crf_* kernel of refine "
            "(eval-motion --crf: +5.1 J&F for the two-stream model on DAVIS; about 0.3 s a "
            "frame, one thread)",
        ),
        ParamSpec(
            "flow_method", "dis", "Optical flow: dis (fast) or farneback", choices=FLOW_METHODS
        ),
        ParamSpec(
            "flow_preset", "fast", "DIS preset: ultrafast, fast or medium", choices=DIS_PRESETS
        ),
        ParamSpec(
            "flow_max_gap",
            0.5,
            "Seconds between frame stamps beyond which the flow stream restarts "
            "(as it does when time goes backwards or the size changes)",
            bounds=(0.0, 60.0),
            low_open=True,
        ),
    ),
    _build,
)
