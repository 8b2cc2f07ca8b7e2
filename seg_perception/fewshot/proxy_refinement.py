"""Refine imprinted proxies on their support frames (a few gradient steps, no ROS).

An imprinted row is a mean direction: it has a high cosine to most pixels, so a new
class also wins pixels of base classes. Refinement trains only the named rows (the new
classes'), every other row and the encoder fixed, with cross-entropy over the support
frames' feature cells: the support masks say where the new classes are, the rest of
each frame is labelled by the base model (its own prediction outside the masks). The
rows start from their imprinted prototypes, so zero steps is imprinting, and the base
classes' rows are never changed. Imprinting followed by fine-tuning of the new weights
is Qi, Brown and Lowe's "Low-shot learning with imprinted weights" (CVPR 2018).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from .adaptive_proxies import AdaptiveProxies
from .cancellation import TeachingCancelled, never_cancelled
from .proxies import cell_masks

__all__ = ["REFINE_LR", "REFINE_PARTIAL", "cell_targets", "refine_proxies"]

REFINE_LR = 0.003  # Adam's learning rate (config/fewshot/protocol.yaml: refine_lr)
REFINE_PARTIAL = 0.5  # the partial-label term's weight (protocol: refine_partial)


def cell_targets(labels: torch.Tensor, num_classes: int, size: tuple[int, int]) -> torch.Tensor:
    """(K, h, w) share of each feature cell's pixels labelled with each class id 0..K-1
    (ids >= K, e.g. 255 = ignore, count for no class), from an (H, W) label map."""
    return cell_masks(labels, range(num_classes), size)


def refine_proxies(
    proxies: AdaptiveProxies,
    features: Sequence[dict[str, torch.Tensor]],
    labels: Sequence[torch.Tensor],
    trainable: Sequence[int],
    steps: int,
    lr: float = REFINE_LR,
    balanced: bool = True,
    partial: float = REFINE_PARTIAL,
    cancelled: Callable[[], bool] = never_cancelled,
) -> list[float]:
    """Train rows ``trainable`` of ``proxies`` (both classifiers) for ``steps`` Adam
    steps of cross-entropy on the support frames; returns the loss before each step.

    Args:
        proxies: the model's classifiers, with the new classes already imprinted.
        features: per support frame, the model's ``classifier_features`` ((C, h, w) each).
        labels: per support frame, an (H, W) label map at the frame's size: the new
            class's mask and the base model's labels elsewhere (255 = not used).
        trainable: the row ids to train (the others stay as they are).
        steps: gradient steps (0: nothing changes).
        lr: Adam's learning rate on the (unnormalised) rows.
        balanced: weight each class's cells by the inverse of its share of the cells
            (a new class covers few cells against the base classes' many).
        partial: weight in [0, 1] of the partial-label term. A new class that a frame's
            labels do not mark may be anywhere in that frame (a support frame marks only
            its own class), so outside the masks a cell labelled with base class k is
            also right as any such class: a building in a fence's support frame then does
            not teach Building's row that buildings are not Building. The loss mixes
            that term (weight ``partial``) with plain cross-entropy (1 - ``partial``),
            which keeps new rows off base pixels; 0 is plain cross-entropy.
        cancelled: asked before each step; True raises ``TeachingCancelled``.
    """
    if steps < 0 or lr <= 0 or not 0 <= partial <= 1:
        raise ValueError(
            f"steps must be >= 0, lr > 0 and partial in [0, 1], got {steps}, {lr}, {partial}"
        )
    if steps == 0 or not trainable:
        return []
    num_classes = proxies.num_classes
    names = list(proxies.classifiers)
    units = {name: [] for name in names}
    new = torch.zeros(num_classes, dtype=torch.bool)
    new[list(trainable)] = True
    targets, unmarked = [], []
    for frame_features, frame_labels in zip(features, labels, strict=True):
        size = tuple(frame_features[names[0]].shape[-2:])
        frame_targets = cell_targets(frame_labels, num_classes, size).flatten(1)
        targets.append(frame_targets)
        absent = new & (frame_targets.sum(dim=1) == 0)
        unmarked.append(absent[:, None].expand_as(frame_targets))
        for name in names:
            units[name].append(F.normalize(frame_features[name].float(), dim=0).flatten(1))
    target = torch.cat(targets, dim=1)  # (K, N)
    cells = target.sum(dim=0) > 0
    target = target[:, cells]
    unmarked_cells = torch.cat(unmarked, dim=1)[:, cells]
    if balanced:
        share = target.sum(dim=1)
        weights = torch.where(share > 0, share.sum() / share.clamp_min(1e-6), 0.0)
        target = target * (weights / weights[share > 0].mean())[:, None]
    unit = {name: torch.cat(values, dim=1)[:, cells] for name, values in units.items()}
    rows = {name: c.weight.detach().clone() for name, c in proxies.classifiers.items()}
    scales = {name: float(c.scale.detach()) for name, c in proxies.classifiers.items()}
    ids = torch.as_tensor(list(trainable))
    params = {name: rows[name][ids].clone().requires_grad_(True) for name in names}
    optimiser = torch.optim.Adam(params.values(), lr=lr)
    losses = []
    with torch.enable_grad():
        for _ in range(steps):
            if cancelled():
                raise TeachingCancelled("proxy refinement cancelled")
            logits = 0
            for name in names:
                full = rows[name].index_put((ids,), params[name])
                logits = logits + scales[name] * F.normalize(full, dim=1) @ unit[name]
            log_p = F.log_softmax(logits, dim=0)
            log_unmarked = torch.logsumexp(log_p.masked_fill(~unmarked_cells, -1e4), dim=0)
            log_right = torch.where(new[:, None], log_p, torch.logaddexp(log_p, log_unmarked))
            log_right = partial * log_right + (1 - partial) * log_p
            loss = -(target * log_right).sum() / target.sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
    for name, classifier in proxies.classifiers.items():
        final = rows[name].clone()
        final[ids] = F.normalize(params[name].detach(), dim=1)
        classifier.set_rows(final)
    return losses
