"""Class names and colour palettes (CamVid's 11 classes by default)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ClassSet", "CAMVID", "IGNORE_INDEX"]

IGNORE_INDEX = 255
"""Label value ignored by losses and metrics (CamVid's "Unlabelled" is remapped to it)."""


@dataclass(frozen=True)
class ClassSet:
    """Names and RGB colours of the classes a model predicts."""

    names: tuple[str, ...]
    colors: tuple[tuple[int, int, int], ...]

    def __post_init__(self) -> None:
        if not self.names:
            raise ValueError("a class set needs at least one class")
        if len(self.names) != len(self.colors):
            raise ValueError(
                f"{len(self.names)} class names but {len(self.colors)} palette colours"
            )
        if len(self.names) > 255:
            raise ValueError("at most 255 classes fit a mono8 label image")
        for color in self.colors:
            if len(color) != 3 or not all(0 <= c <= 255 for c in color):
                raise ValueError(f"palette colour {color} is not an RGB triple in 0..255")

    @classmethod
    def from_flat(cls, names: Sequence[str], flat_palette: Sequence[int]) -> ClassSet:
        """Build from names and a flat ``[r0, g0, b0, r1, ...]`` list (ROS parameter form)."""
        if len(flat_palette) != 3 * len(names):
            raise ValueError(
                f"palette has {len(flat_palette)} values; {len(names)} classes need "
                f"{3 * len(names)} (r, g, b each)"
            )
        colors = tuple(
            tuple(int(v) for v in flat_palette[i : i + 3]) for i in range(0, len(flat_palette), 3)
        )
        return cls(tuple(names), colors)  # type: ignore[arg-type]

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def ids_of(self, names: Sequence[str]) -> list[int]:
        """The class id of each name.

        Raises:
            ValueError: naming those that are not classes of this set.
        """
        unknown = [name for name in names if name not in self.names]
        if unknown:
            raise ValueError(f"{unknown} are not among the classes {list(self.names)}")
        return [self.names.index(name) for name in names]

    def lookup_table(self) -> np.ndarray:
        """(256, 3) uint8 colour table; ids outside the class set map to black."""
        table = np.zeros((256, 3), dtype=np.uint8)
        table[: self.num_classes] = np.asarray(self.colors, dtype=np.uint8)
        return table

    def colorize(self, labels: np.ndarray) -> np.ndarray:
        """Map an (H, W) uint8 label image to an (H, W, 3) RGB image."""
        return self.lookup_table()[labels]


CAMVID = ClassSet(
    names=(
        "Sky",
        "Building",
        "Pole",
        "Road",
        "Pavement",
        "Tree",
        "SignSymbol",
        "Fence",
        "Car",
        "Pedestrian",
        "Bicyclist",
    ),
    colors=(
        (128, 128, 128),
        (128, 0, 0),
        (192, 192, 128),
        (128, 64, 128),
        (60, 40, 222),
        (128, 128, 0),
        (192, 128, 128),
        (64, 64, 128),
        (64, 0, 128),
        (64, 64, 0),
        (0, 128, 192),
    ),
)
