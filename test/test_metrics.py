"""Confusion-matrix metrics against a hand-made 3-class example."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seg_perception.evaluation import ConfusionMatrix

TRUTH = np.array([[0, 0, 0, 1], [1, 1, 2, 255]], dtype=np.uint8)
PREDICTION = np.array([[0, 0, 1, 1], [1, 2, 0, 2]], dtype=np.uint8)
# (truth, prediction) pairs: (0,0) (0,0) (0,1) (1,1) (1,1) (1,2) (2,0); (255,2) is ignored
EXPECTED_MATRIX = np.array(
    [
        [2, 1, 0],
        [0, 2, 1],
        [1, 0, 0],
    ]
)


def example() -> ConfusionMatrix:
    confusion = ConfusionMatrix(3)
    confusion.update(TRUTH, PREDICTION)
    return confusion


def test_matrix_rows_are_truth_and_ignore_is_skipped() -> None:
    confusion = example()
    np.testing.assert_array_equal(confusion.matrix, EXPECTED_MATRIX)
    assert confusion.matrix.sum() == 7  # 8 pixels, one ignored


def test_per_class_iou() -> None:
    # IoU = tp / (row sum + column sum - tp)
    # class 0: 2 / (3 + 3 - 2) = 0.5; class 1: 2 / (3 + 3 - 2) = 0.5; class 2: 0 / (1 + 1 - 0) = 0
    np.testing.assert_allclose(example().iou(), [0.5, 0.5, 0.0])


def test_mean_iou() -> None:
    # (0.5 + 0.5 + 0) / 3
    assert example().mean_iou() == pytest.approx(1 / 3)


def test_pixel_accuracy() -> None:
    # diagonal 2 + 2 + 0 over 7 counted pixels
    assert example().pixel_accuracy() == pytest.approx(4 / 7)


def test_absent_class_is_nan_and_excluded_from_mean() -> None:
    confusion = ConfusionMatrix(4)
    confusion.update(TRUTH, PREDICTION)
    iou = confusion.iou()
    np.testing.assert_allclose(iou[:3], [0.5, 0.5, 0.0])
    assert math.isnan(iou[3])  # class 3 is in neither truth nor prediction
    assert confusion.mean_iou() == pytest.approx(1 / 3)


def test_class_only_predicted_has_zero_iou() -> None:
    confusion = ConfusionMatrix(2)
    confusion.update(np.array([0, 0]), np.array([0, 1]))
    # class 1: tp 0, union 0 + 1 - 0 = 1 -> IoU 0 (counts in the mean)
    np.testing.assert_allclose(confusion.iou(), [0.5, 0.0])
    assert confusion.mean_iou() == pytest.approx(0.25)


def test_custom_ignore_index_and_out_of_range_truth() -> None:
    confusion = ConfusionMatrix(3, ignore_index=0)
    confusion.update(np.array([0, 1, 2, 7]), np.array([1, 1, 2, 0]))
    # truth 0 is ignored, truth 7 is not a class: only (1,1) and (2,2) count
    assert confusion.matrix.sum() == 2
    assert confusion.pixel_accuracy() == 1.0


def test_torch_tensors_accumulate_and_merge() -> None:
    confusion = ConfusionMatrix(3)
    confusion.update(torch.from_numpy(TRUTH.astype(np.int64)), torch.from_numpy(PREDICTION))
    confusion.update(TRUTH, PREDICTION)
    np.testing.assert_array_equal(confusion.matrix, 2 * EXPECTED_MATRIX)
    other = example()
    other.merge(confusion)
    np.testing.assert_array_equal(other.matrix, 3 * EXPECTED_MATRIX)
    assert other.mean_iou() == pytest.approx(1 / 3)  # ratios do not change


def test_shape_mismatch_raises() -> None:
    confusion = ConfusionMatrix(3)
    with pytest.raises(ValueError, match="truth has 8 pixels, prediction 7"):
        confusion.update(TRUTH, PREDICTION.ravel()[:7])


def test_empty_matrix() -> None:
    confusion = ConfusionMatrix(3)
    assert math.isnan(confusion.pixel_accuracy())
    assert np.isnan(confusion.iou()).all()
