"""Small untrained LR-ASPP checkpoints (CamVid's classes unless told), for tests of tools
that read checkpoints (imprint, fewshot-eval)."""

from __future__ import annotations

from pathlib import Path

import torch

from seg_perception.checkpoint import save_checkpoint
from seg_perception.classes import CAMVID, ClassSet
from seg_perception.models import build_model


def save_small_lraspp(path: Path, classes: ClassSet = CAMVID, **model_kwargs) -> Path:
    """Write an untrained MobileNetV3-Small LR-ASPP (seed 0) with the names and palette of
    ``classes`` to ``path``; ``model_kwargs`` add to its kwargs (e.g. classifier="cosine")."""
    torch.manual_seed(0)
    kwargs = {"encoder": "mobilenet_v3_small", "inter_channels": 16, **model_kwargs}
    model = build_model("lraspp", classes.num_classes, **kwargs)
    save_checkpoint(
        path,
        {
            "model_name": "lraspp",
            "model_kwargs": kwargs,
            "class_names": list(classes.names),
            "palette": [list(c) for c in classes.colors],
            "state_dict": model.state_dict(),
        },
    )
    return path
