"""Checkpoints: weights plus everything needed to rebuild the model (no ROS imports).

A checkpoint is a dict with ``model_name``, ``model_kwargs``, ``class_names``,
``palette``, ``state_dict`` and optional training state (``optimizer``,
``scheduler``, ``epoch``, ``best_score``, ``config``, ``history``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .classes import ClassSet
from .io_utils import atomic_write
from .models import build_model

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "load_model",
    "load_weights",
    "export_for_inference",
    "CheckpointError",
    "DEFAULT_CHECKPOINT",
    "MOTION_CHECKPOINTS",
    "INSTANCE_CHECKPOINT",
    "POLICY_CHECKPOINT",
    "DRIVING_SEGMENTATION_CHECKPOINT",
]

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "lraspp_camvid.pt"
# DAVIS 2016 foreground models, one per fold (trained on it, tested on the other fold)
MOTION_CHECKPOINTS = {
    model: tuple(CHECKPOINT_DIR / "motion" / f"{model}_fold_{fold}.pt" for fold in "ab")
    for model in ("two_stream", "appearance")
}

# Mask R-CNN on CamVid's derived instances (train-instances)
INSTANCE_CHECKPOINT = CHECKPOINT_DIR / "maskrcnn_camvid.pt"
# CarRacing driving policy (train-policy) and its auxiliary segmentation branch
POLICY_CHECKPOINT = CHECKPOINT_DIR / "driving" / "policy.pt"
DRIVING_SEGMENTATION_CHECKPOINT = CHECKPOINT_DIR / "driving" / "segmentation.pt"


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or does not fit what was asked."""


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any], half: bool = False) -> None:
    """Write ``payload`` atomically; ``half`` stores float weights as float16 (half the size)."""
    if half:
        payload = dict(payload)
        payload["state_dict"] = {
            k: v.half() if v.is_floating_point() else v for k, v in payload["state_dict"].items()
        }
    with atomic_write(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint dict, raising ``CheckpointError`` with a one-line reason."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise CheckpointError(
            f"checkpoint {path} is unreadable: {exc.__class__.__name__}"
        ) from exc
    if not isinstance(payload, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(payload).__name__}, not a dict")
    missing = {"model_name", "model_kwargs", "class_names", "state_dict"} - set(payload)
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {', '.join(sorted(missing))}")
    return payload


def load_model(
    path: str | os.PathLike, expected_classes: ClassSet | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model of a checkpoint in eval mode (float32, CPU).

    Raises:
        CheckpointError: unreadable file, or class names differing from ``expected_classes``.
    """
    payload = load_checkpoint(path)
    names = tuple(payload["class_names"])
    if expected_classes is not None and names != expected_classes.names:
        raise CheckpointError(
            f"checkpoint {path} predicts {len(names)} classes {list(names)}, but the configured "
            f"classes are {list(expected_classes.names)}"
        )
    model = build_model(payload["model_name"], len(names), **payload["model_kwargs"])
    load_weights(model, payload, path)
    return model.eval(), payload


def load_weights(model: nn.Module, payload: dict[str, Any], path: str | os.PathLike) -> None:
    """Load a checkpoint's weights (float16 ones as float32) into ``model``.

    Raises:
        CheckpointError: the weights do not fit the model.
    """
    state = {
        k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()
    }
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {path} does not fit its model: {exc}") from exc


def export_for_inference(source: str | os.PathLike, target: str | os.PathLike) -> dict[str, Any]:
    """Copy a training checkpoint without optimizer state, weights in float16."""
    payload = load_checkpoint(source)
    keep = (
        "model_name",
        "model_kwargs",
        "class_names",
        "palette",
        "state_dict",
        "config",
        "epoch",
        "best_score",
        # motion checkpoints: what eval-motion and the node need
        "fold",
        "train_sequences",
        "input_size",
        "flow",
        # instance and policy checkpoints
        "thing_classes",
        "min_area",
        "seg_weight",
        "source",
    )
    exported = {k: payload[k] for k in keep if k in payload}
    save_checkpoint(target, exported, half=True)
    return exported
