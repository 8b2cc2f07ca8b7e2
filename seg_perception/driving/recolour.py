"""Class-wise recolouring of demonstration frames (training-time augmentation).

Each chosen frame gets its road pixels and its grass pixels (the simulator's own
labels, ``sim_labels``) shifted, the road by one offset and the grass by another: a
brightness change (the same on every channel) plus a tint (one per RGB channel), each
drawn uniformly in ``[-strength, strength]`` of the range. The policy learns that a road
is a road whatever its shade. The test-time ``colour`` condition (offsets of 0.2 per
channel) lies inside this family at strength 0.25; ``domain_randomize`` (any colours in
[0, 210]) mostly does not. Tints alone (no brightness term) left a lighter road on
darker grass, where the road and the grass become alike, mostly unseen: the validation
score under ``colour`` rose from 778 to 862 with the brightness term (docs/results.md).
"""

from __future__ import annotations

import torch

from .sim_labels import GRASS, ROAD

__all__ = ["recolour_road_and_grass", "RECOLOUR_SHARE"]

RECOLOUR_SHARE = 0.5  # share of the frames recoloured; the rest keep their colours


def recolour_road_and_grass(
    frames: torch.Tensor, labels: torch.Tensor, strength: float, generator: torch.Generator
) -> torch.Tensor:
    """(B, H, W, 3) uint8 frames and (B, H, W) class ids -> recoloured uint8 frames."""
    if strength <= 0:
        return frames
    n = frames.shape[0]
    chosen = torch.rand(n, generator=generator) < RECOLOUR_SHARE
    pixels = frames.float()
    for class_id in (ROAD, GRASS):
        brightness = torch.rand(n, 1, generator=generator) * 2 - 1
        tint = torch.rand(n, 3, generator=generator) * 2 - 1
        offsets = (brightness + tint) * strength * 255.0
        offsets[~chosen] = 0.0
        mask = (labels == class_id).unsqueeze(-1).float()
        pixels = pixels + mask * offsets[:, None, None, :]
    return pixels.round_().clamp_(0, 255).to(torch.uint8)
