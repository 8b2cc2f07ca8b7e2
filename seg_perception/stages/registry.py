"""The optional stages, in the order they run (refining ones right after segmentation,
the others after the overlay).

A new capability is a module in this package with a ``StageSpec`` plus one line here.
"""

from __future__ import annotations

from .base import StageSpec
from .crf import CRF_STAGE
from .instances import INSTANCE_STAGE
from .motion import MOTION_STAGE
from .uncertain_frames import UNCERTAIN_FRAMES_STAGE
from .vos import VOS_STAGE

__all__ = ["OPTIONAL_STAGES"]

OPTIONAL_STAGES: tuple[StageSpec, ...] = (
    CRF_STAGE,
    MOTION_STAGE,
    INSTANCE_STAGE,
    VOS_STAGE,
    UNCERTAIN_FRAMES_STAGE,
)
