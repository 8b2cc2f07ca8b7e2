"""The class legend as a picture (a swatch and a name per class), for image viewers such
as RViz's Image display: the node publishes it on ``~/legend``."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .classes import ClassSet

__all__ = ["legend_image"]

ROW_HEIGHT = 22
SWATCH = 16
WIDTH = 220
BACKGROUND = (40, 40, 40)
TEXT = (235, 235, 235)
TAUGHT = (255, 204, 128)


def legend_image(classes: ClassSet, taught: Sequence[str] = ()) -> np.ndarray:
    """(H, 220, 3) uint8 RGB: one row per class, in id order: its id, colour and name
    (taught few-shot classes in amber)."""
    height = ROW_HEIGHT * len(classes.names) + 6
    image = np.full((height, WIDTH, 3), BACKGROUND, np.uint8)
    for index, (name, color) in enumerate(zip(classes.names, classes.colors, strict=True)):
        top = 3 + index * ROW_HEIGHT + (ROW_HEIGHT - SWATCH) // 2
        cv2.rectangle(image, (6, top), (6 + SWATCH - 1, top + SWATCH - 1), tuple(color), -1)
        cv2.rectangle(image, (5, top - 1), (6 + SWATCH, top + SWATCH), (160, 160, 160), 1)
        label = f"{index:>2} {name}"
        cv2.putText(
            image,
            label,
            (30, top + SWATCH - 3),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            TAUGHT if name in taught else TEXT,
            1,
            cv2.LINE_AA,
        )
    return image
