"""Normalised masked average pooling, imprinting and proxy adaptation.

A cosine-classifier model (``LRASPP(classifier="cosine")``) scores a pixel by the
cosine between its feature vector and each class's weight row (its proxy), at each
resolution whose classifier it has (``low`` and ``high``, both at stride 8 in LR-ASPP).

- NMAP: for class l and resolution r, over k support images,
  ``P_l^r = normalise( (1/k) sum_i (1/N_i) sum_x F^{ri}(x) Y_l^i(x) )``, where the
  feature vectors ``F(x)`` are L2-normalised per pixel first (they are what the cosine
  classifier compares) and ``N_i = sum_x Y_l^i(x)``, the mask's area in feature cells
  (support masks are area-averaged to the feature grid, so a thin object keeps its
  share). Images where the class is absent do not count in k.
- Imprinting: a novel class's proxy is its ``P_l`` (a new or replaced row).
- Adaptation: ``W_l <- normalise(alpha * P_l + (1 - alpha) * W_l / |W_l|)`` for every
  class present in the support labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["masked_average", "nmap", "adapt_proxy", "support_prototypes"]


def masked_average(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor | None:
    """``(1/N) sum_x F(x) m(x)`` of (C, h, w) ``features`` and an (h, w) weight ``mask``
    in [0, 1] (N = its sum), with F L2-normalised per pixel; None when the mask is empty."""
    area = mask.sum()
    if area <= 0:
        return None
    unit = F.normalize(features, dim=0)
    return (unit * mask).sum(dim=(1, 2)) / area


def nmap(averages: Sequence[torch.Tensor | None]) -> torch.Tensor | None:
    """Normalised mean of the per-image masked averages (None entries skipped)."""
    present = [a for a in averages if a is not None]
    if not present:
        return None
    return F.normalize(torch.stack(present).mean(dim=0), dim=0)


def adapt_proxy(weight: torch.Tensor, prototype: torch.Tensor, alpha: float) -> torch.Tensor:
    """``normalise(alpha * prototype + (1 - alpha) * weight / |weight|)``."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    return F.normalize(alpha * prototype + (1 - alpha) * F.normalize(weight, dim=0), dim=0)


def cell_masks(labels: torch.Tensor, class_ids: Sequence[int], size: tuple[int, int]):
    """Per class id, the (h, w) fraction of each feature cell its pixels cover, from an
    (H, W) integer label map (area-averaged to ``size``)."""
    one_hot = torch.stack([(labels == c).float() for c in class_ids])[None]  # (1, L, H, W)
    return F.interpolate(one_hot, size=size, mode="area")[0]


def support_prototypes(
    features: Sequence[dict[str, torch.Tensor]],
    labels: Sequence[torch.Tensor],
    class_ids: Sequence[int],
) -> dict[int, dict[str, torch.Tensor]]:
    """NMAP prototypes of each class id present in the supports, per resolution.

    Args:
        features: per support image, the model's ``classifier_features`` (each (C, h, w)).
        labels: per support image, an (H, W) class-id map at the image's size (any id not
            in ``class_ids``, e.g. 255, is ignored).
        class_ids: the classes to pool.

    Returns:
        ``{class_id: {resolution: (C,) unit prototype}}`` for the classes with pixels.
    """
    averages: dict[int, dict[str, list]] = {c: {} for c in class_ids}
    for image_features, image_labels in zip(features, labels, strict=True):
        for name, fmap in image_features.items():
            masks = cell_masks(image_labels, class_ids, tuple(fmap.shape[-2:]))
            for class_id, mask in zip(class_ids, masks, strict=True):
                averages[class_id].setdefault(name, []).append(masked_average(fmap, mask))
    prototypes: dict[int, dict[str, torch.Tensor]] = {}
    for class_id, per_resolution in averages.items():
        pooled = {name: nmap(values) for name, values in per_resolution.items()}
        if all(p is not None for p in pooled.values()) and pooled:
            prototypes[class_id] = pooled  # type: ignore[assignment]
    return prototypes
