"""A cosine-classifier model's class rows as editable proxies (imprint, adapt, reset)."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import nn

from ..models.cosine_classifier import CosineClassifier
from ..models.normalization import normalize_image
from .proxies import adapt_proxy

__all__ = ["AdaptiveProxies", "classifier_features", "segment_features"]

_NEVER = -1e30  # the score of a class that cannot win


def classifier_features(
    model: nn.Module, rgb: np.ndarray, input_size: tuple[int, int]
) -> dict[str, torch.Tensor]:
    """The model's ``classifier_features`` of one (H, W, 3) uint8 frame resized to
    ``input_size`` (width, height), each (C, h, w)."""
    if (rgb.shape[1], rgb.shape[0]) != tuple(input_size):
        rgb = cv2.resize(rgb, tuple(input_size), interpolation=cv2.INTER_LINEAR)
    with torch.inference_mode():
        features = model.classifier_features(normalize_image(rgb)[None])
    return {name: value[0] for name, value in features.items()}


def segment_features(
    model: nn.Module,
    features: dict[str, torch.Tensor],
    active: torch.Tensor,
    size: tuple[int, int],
) -> np.ndarray:
    """(H, W) uint8 labels at ``size`` (height, width) from cached features; classes
    whose ``active`` entry is False cannot win. The logits are resized bilinearly with
    half-pixel centres, as the model's own forward does (OpenCV: five times faster
    than torch on one thread, the same labels)."""
    with torch.inference_mode():
        logits = model.classify({k: v[None].float() for k, v in features.items()})[0]
    scores = np.ascontiguousarray(logits.permute(1, 2, 0).numpy())  # (h, w, K)
    scores[:, :, ~active.numpy()] = _NEVER  # finite: resizing -inf gives NaN (0 * -inf)
    height, width = size
    if scores.shape[:2] != (height, width):
        scores = cv2.resize(scores, (width, height), interpolation=cv2.INTER_LINEAR)
    if scores.ndim == 2:  # a single class: OpenCV drops the channel axis
        scores = scores[:, :, None]
    return scores.argmax(axis=-1).astype(np.uint8)


class AdaptiveProxies:
    """The rows of ``model.head``'s two cosine classifiers (``low``, ``high``).

    Imprinting writes a class's prototype into its row (a row past the end adds a
    class); adaptation mixes a prototype into an existing row; ``reset`` restores the
    rows the model had when this object was made.
    """

    def __init__(self, model: nn.Module):
        head = getattr(model, "head", None)
        classifiers = {
            "low": getattr(head, "low_classifier", None),
            "high": getattr(head, "high_classifier", None),
        }
        if not all(isinstance(c, CosineClassifier) for c in classifiers.values()):
            raise ValueError(
                "few-shot imprinting needs an LR-ASPP with cosine classifiers "
                "(model_kwargs classifier: cosine)"
            )
        self.classifiers: dict[str, CosineClassifier] = classifiers  # type: ignore[assignment]
        self.original = {name: c.weight.detach().clone() for name, c in classifiers.items()}

    @property
    def num_classes(self) -> int:
        return self.classifiers["low"].num_classes

    def reset(self) -> None:
        for name, classifier in self.classifiers.items():
            classifier.set_rows(self.original[name])

    def imprint(self, class_id: int, prototype: dict[str, torch.Tensor]) -> None:
        """Row ``class_id`` of each classifier becomes ``prototype[name]``; ``class_id ==
        num_classes`` appends a class."""
        if not 0 <= class_id <= self.num_classes:
            raise ValueError(f"class id {class_id} is past the {self.num_classes} classes")
        for name, classifier in self.classifiers.items():
            rows = classifier.weight.detach().clone()
            row = prototype[name].to(rows)[None]
            if class_id == rows.shape[0]:
                rows = torch.cat([rows, row])
            else:
                rows[class_id] = row[0]
            classifier.set_rows(rows)

    def adapt(self, class_id: int, prototype: dict[str, torch.Tensor], alpha: float) -> None:
        """Row ``class_id`` <- ``adapt_proxy(row, prototype, alpha)`` in each classifier."""
        for name, classifier in self.classifiers.items():
            rows = classifier.weight.detach().clone()
            rows[class_id] = adapt_proxy(rows[class_id], prototype[name].to(rows), alpha)
            classifier.set_rows(rows)

    def remove(self, class_id: int) -> None:
        """Drop row ``class_id`` (ids above it move down by one)."""
        for classifier in self.classifiers.values():
            rows = classifier.weight.detach()
            classifier.set_rows(torch.cat([rows[:class_id], rows[class_id + 1 :]]))
