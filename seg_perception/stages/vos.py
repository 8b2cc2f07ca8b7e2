"""Optional stage: video object segmentation (OSVOS / OnAVOS) of a target the user marks,
``vos``. The node feeds init masks to ``stage.tracker`` (``nodes/vos_topics.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checkpoint import VOS_PARENT_CHECKPOINTS
from ..package_files import config_file
from ..parameters import ParamSpec
from ..vos.foreground_net import load_vos_parent
from ..vos.online import load_online_params
from ..vos.target_tracker import TargetTracker
from .base import BuildContext, Frame, Output, StageSpec

__all__ = ["VOSStage", "VOS_STAGE", "VOS_METHODS"]

VOS_METHODS = ("osvos", "onavos")


class VOSStage:
    """``vos_mask`` (mono8, 255 on the target) on every frame while a target is tracked.
    Sub-timing: none (the stage's own ``vos`` entry is the target's inference and any
    online adaptation)."""

    name = "vos"
    consumes: tuple[str, ...] = ()
    produces = ("vos_mask",)
    outputs = (Output("vos_mask", "vos/mask", "mono8"),)
    eager = True  # the target is followed (and OnAVOS adapts) frame by frame: no gaps

    def __init__(self, tracker: TargetTracker):
        self.tracker = tracker

    def __call__(self, frame: Frame) -> dict[str, Any]:
        mask = self.tracker.track(frame.rgb)
        if mask is None:
            return {}
        return {"vos_mask": mask.astype(np.uint8) * 255}

    def values(self) -> dict[str, str]:
        """Diagnostics: the tracker's state."""
        return self.tracker.status()


def _build(params: Any, context: BuildContext) -> VOSStage | None:
    if not params.vos:
        return None
    path = params.vos_checkpoint or str(VOS_PARENT_CHECKPOINTS[0])
    parent, _ = load_vos_parent(path)
    online = load_online_params(
        config_file(f"vos/{params.vos_method}.yaml"),
        finetune_steps=params.vos_finetune_steps,
        crf=params.vos_crf,
    )
    context.log(f"video objects: {params.vos_method} on {path}; send a mask on ~/vos/init")
    return VOSStage(TargetTracker(parent, online, str(context.device), context.log))


VOS_STAGE = StageSpec(
    "vos",
    (
        ParamSpec(
            "vos",
            False,
            "Video object mode: a mask sent on ~/vos/init (mono8, the stamp of a recent "
            "frame) is learnt in the background, then ~/vos/mask follows that object",
        ),
        ParamSpec(
            "vos_checkpoint",
            "",
            "VOS parent (train-vos-parent); empty = the bundled parent (DAVIS fold a)",
        ),
        ParamSpec(
            "vos_method",
            "osvos",
            "osvos (fine-tune on the init mask) or onavos (also adapt online after every "
            "5th frame: slower)",
            choices=VOS_METHODS,
        ),
        ParamSpec(
            "vos_finetune_steps",
            200,
            "Fine-tuning steps on the init mask (each 0.2-0.4 s on a 2-core CPU; "
            "200 as eval-vos, fewer learn faster and follow less well)",
            bounds=(1, 5000),
        ),
        ParamSpec(
            "vos_crf",
            False,
            "Dense CRF on the target's mask, as eval-vos does (+0.9 J&F on the "
            "development split, about 0.25 s a frame on a 2-core CPU)",
        ),
        ParamSpec(
            "vos_buffer_frames",
            60,
            "Recent frames kept for an init mask to refer to by stamp",
            bounds=(1, 1000),
        ),
    ),
    _build,
    offline=False,  # the target's mask is sent to the running node on ~/vos/init
)
