"""J and F against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from seg_perception.evaluation.vos_metrics import boundary_f, boundary_map, region_j


def square(size: int, top: int, left: int, side: int) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[top : top + side, left : left + side] = True
    return mask


def test_region_j_is_iou() -> None:
    a = square(10, 0, 0, 4)  # 16 pixels
    b = square(10, 2, 2, 4)  # overlap 2x2 = 4, union 28
    assert region_j(a, b) == pytest.approx(4 / 28)
    assert region_j(a, a) == 1.0
    assert region_j(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0
    assert region_j(a, np.zeros_like(a)) == 0.0


def test_boundary_map_of_a_square() -> None:
    # a 2x2 square at (1, 1) in 5x5: the pixels where the mask differs from its east,
    # south or south-east neighbour, worked out by hand
    expected = np.zeros((5, 5), bool)
    expected[0, 0] = True  # south-east neighbour (1, 1) is inside
    expected[0, 1] = expected[0, 2] = True  # south neighbours inside
    expected[1, 0] = expected[2, 0] = True  # east neighbours inside
    expected[1, 2] = expected[2, 2] = True  # east neighbour outside
    expected[2, 1] = True  # south neighbour outside
    np.testing.assert_array_equal(boundary_map(square(5, 1, 1, 2)), expected)


def test_boundary_f_exact_and_tolerance() -> None:
    truth = square(100, 20, 20, 40)
    assert boundary_f(truth, truth) == 1.0
    # diagonal 141.4 px -> radius ceil(1.13) = 2: a 1-pixel shift still matches fully
    assert boundary_f(square(100, 21, 21, 40), truth) == 1.0
    # a 10-pixel shift: only boundary pieces that stay within 2 px match
    assert 0.0 < boundary_f(square(100, 30, 30, 40), truth) < 0.6
    assert boundary_f(square(100, 70, 70, 20), square(100, 0, 0, 20)) == 0.0


def test_boundary_f_empty_masks() -> None:
    empty = np.zeros((10, 10), bool)
    assert boundary_f(empty, empty) == 1.0
    assert boundary_f(square(10, 2, 2, 3), empty) == 0.0
    assert boundary_f(empty, square(10, 2, 2, 3)) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        boundary_f(empty, np.zeros((5, 5), bool))
