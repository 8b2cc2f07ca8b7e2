"""Class-wise recolouring of demonstration frames (training-time augmentation).

Each chosen frame gets its road pixels and its grass pixels (the simulator's own
labels, ``sim_labels``) shifted by a random offset per RGB channel, drawn uniformly in
``[-strength, strength]`` of the range, one offset for the road and another for the
grass: the policy learns that a road is a road whatever its shade. The test-time
``colour`` condition (offsets of 0.2 per channel) lies inside this family at strength
0.25; ``domain_randomize`` (any colours in [0, 210]) mostly does not.
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
        offsets = (torch.rand(n, 3, generator=generator) * 2 - 1) * strength * 255.0
        offsets[~chosen] = 0.0
        mask = (labels == class_id).unsqueeze(-1).float()
        pixels = pixels + mask * offsets[:, None, None, :]
    return pixels.round_().clamp_(0, 255).to(torch.uint8)
