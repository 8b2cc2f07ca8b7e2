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

from .classes import CAMVID, ClassSet
from .io_utils import atomic_write
from .models import build_model, model_keyword_names

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "load_model",
    "load_weights",
    "export_for_inference",
    "CheckpointError",
    "DEFAULT_CHECKPOINT",
    "DEFAULT_INT8_MODEL",
    "MOBILENET_CHECKPOINT",
    "int8_model_for",
    "MOTION_CHECKPOINTS",
    "INSTANCE_CHECKPOINT",
    "POLICY_CHECKPOINT",
    "DRIVING_SEGMENTATION_CHECKPOINT",
    "FEWSHOT_CHECKPOINT",
    "checkpoint_classes",
]

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
# the node's default: LR-ASPP on an ImageNet EfficientNet-Lite0 (docs/results.md)
DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "lraspp_camvid.pt"
# the earlier default, LR-ASPP on MobileNetV3-Large trained from scratch: the motion
# stream's and Mask R-CNN's trainers start their MobileNetV3 encoders from it
MOBILENET_CHECKPOINT = CHECKPOINT_DIR / "lraspp_mobilenetv3_camvid.pt"
# seg-perception quantize of DEFAULT_CHECKPOINT at 480x360 (ONNX, QDQ INT8)
DEFAULT_INT8_MODEL = CHECKPOINT_DIR / "lraspp_camvid_int8.onnx"
# DAVIS 2016 foreground models, one per fold (trained on it, tested on the other fold)
MOTION_CHECKPOINTS = {
    model: tuple(CHECKPOINT_DIR / "motion" / f"{model}_fold_{fold}.pt" for fold in "ab")
    for model in ("two_stream", "appearance")
}
# VOS parents (train-vos-parent): one object logit, one per DAVIS fold; OSVOS / OnAVOS
# fine-tune a copy on a target's first mask
VOS_PARENT_CHECKPOINTS = tuple(CHECKPOINT_DIR / "vos" / f"parent_fold_{fold}.pt" for fold in "ab")

# few-shot base model (cosine classifiers, CamVid without Car, Pedestrian, SignSymbol):
# the node's default checkpoint when fewshot_support_dir is set
FEWSHOT_CHECKPOINT = CHECKPOINT_DIR / "fewshot" / "lraspp_cosine_base8.pt"
# Mask R-CNN on CamVid's derived instances (train-instances)
INSTANCE_CHECKPOINT = CHECKPOINT_DIR / "maskrcnn_camvid.pt"
# CarRacing driving policy (train-policy) and its auxiliary segmentation branch
POLICY_CHECKPOINT = CHECKPOINT_DIR / "driving" / "policy.pt"
DRIVING_SEGMENTATION_CHECKPOINT = CHECKPOINT_DIR / "driving" / "segmentation.pt"


def int8_model_for(
    precision: str, given: str | os.PathLike | None, checkpoint: str | os.PathLike | None
) -> str | None:
    """The INT8 model to run: None for ``fp32``; for ``int8`` the ``given`` file, else the
    bundled one when ``checkpoint`` is the bundled checkpoint.

    Raises:
        ValueError: ``int8`` with no model for this checkpoint.
    """
    if precision != "int8":
        return None
    if given:
        return str(given)
    if checkpoint is not None and Path(checkpoint).resolve() == DEFAULT_CHECKPOINT.resolve():
        return str(DEFAULT_INT8_MODEL)
    raise ValueError(
        "int8 precision needs an INT8 model for this checkpoint (seg-perception quantize)"
    )


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
    problem = _payload_problem(payload)
    if problem:
        raise CheckpointError(f"checkpoint {path}: {problem}")
    return payload


def _payload_problem(payload: dict[str, Any]) -> str | None:
    """What is wrong with the fields a model is rebuilt from, or None."""
    if not isinstance(payload["model_name"], str):
        return f"model_name is a {type(payload['model_name']).__name__}, not a string"
    kwargs = payload["model_kwargs"]
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        return "model_kwargs is not a mapping of argument names"
    names = payload["class_names"]
    if (
        not isinstance(names, (list, tuple))
        or not names
        or not all(isinstance(n, str) and n for n in names)
    ):
        return "class_names is not a non-empty list of names"
    palette = payload.get("palette")
    if palette is not None and (
        not isinstance(palette, (list, tuple))
        or not all(
            isinstance(c, (list, tuple))
            and len(c) == 3
            and all(isinstance(v, int) and 0 <= v <= 255 for v in c)
            for c in palette
        )
    ):
        return "palette is not a list of RGB triples (0..255)"
    state = payload["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        return "state_dict is not a mapping of names to tensors"
    return None


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
            f"classes are {list(expected_classes.names)} (class_names: [] takes the "
            "checkpoint's classes and palette)"
        )
    name, kwargs = payload["model_name"], payload["model_kwargs"]
    try:
        unknown = set(kwargs) - model_keyword_names(name)
    except ValueError as exc:
        raise CheckpointError(f"checkpoint {path}: {exc}") from None
    if unknown:
        raise CheckpointError(
            f"checkpoint {path}: model_kwargs has unknown keys {sorted(unknown)} for {name}"
        )
    try:
        model = build_model(name, len(names), **kwargs)
    except (TypeError, ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(
            f"checkpoint {path}: cannot build {name} from {kwargs}: {exc}"
        ) from None
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
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or mismatched:
        parts = [
            f"{len(items)} {what} (first: {items[0]})"
            for what, items in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("with another shape", mismatched),
            )
            if items
        ]
        raise CheckpointError(f"checkpoint {path} does not fit its model: {'; '.join(parts)}")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"checkpoint {path} does not fit its model: {first}") from None


TRAINING_STATE_KEYS = ("optimizer", "scheduler", "history")


def without_training_state(payload: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint payload without what only resuming a training needs."""
    return {k: v for k, v in payload.items() if k not in TRAINING_STATE_KEYS}


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


def checkpoint_classes(path: str | os.PathLike) -> ClassSet:
    """The classes a checkpoint predicts, with its palette (CamVid's colours by default).

    Raises:
        CheckpointError: neither a palette nor CamVid's class names.
    """
    payload = load_checkpoint(path)
    names = tuple(payload["class_names"])
    palette = payload.get("palette")
    if palette:
        return ClassSet(names, tuple(tuple(int(v) for v in color) for color in palette))
    if names == CAMVID.names:
        return CAMVID
    raise CheckpointError(f"checkpoint {path} has no palette for its {len(names)} classes")
