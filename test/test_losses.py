"""Losses against hand-computed values: CE, weighted CE, class weights, bootstrapped CE."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from seg_perception.training.losses import (
    LOSS_NAMES,
    BootstrappedCrossEntropy,
    build_criterion,
    class_frequencies,
    enet_weights,
    median_frequency_weights,
)

IGNORE = 255


def two_class_logits(*probabilities: float) -> torch.Tensor:
    """(1, 2, 1, N) logits whose softmax gives class 0 the probability ``p`` at pixel n."""
    p = torch.tensor(probabilities, dtype=torch.float64)
    return torch.stack([p.log(), (1 - p).log()]).view(1, 2, 1, -1)


def test_cross_entropy_skips_ignored_pixels() -> None:
    # pixel 0: logits (0, ln 3) -> softmax (1/4, 3/4), target 1 -> -ln(3/4) = ln(4/3) = 0.287682
    # pixel 1: ignored, so the mean is over pixel 0 alone
    logits = torch.tensor([[[[0.0, 5.0]], [[math.log(3.0), -5.0]]]])  # (1, 2, 1, 2)
    target = torch.tensor([[[1, IGNORE]]])
    loss = build_criterion("ce")(logits, target)
    assert loss.item() == pytest.approx(0.287682, abs=1e-6)


def test_cross_entropy_mean_over_valid_pixels() -> None:
    # pixel 0: -ln(3/4) = 0.287682 (as above); pixel 1: logits (0, 0), target 0 -> ln 2 = 0.693147
    # mean = (0.287682 + 0.693147) / 2 = 0.490415
    logits = torch.tensor([[[[0.0, 0.0]], [[math.log(3.0), 0.0]]]])
    target = torch.tensor([[[1, 0]]])
    assert build_criterion("ce")(logits, target).item() == pytest.approx(0.490415, abs=1e-6)


def test_weighted_cross_entropy() -> None:
    # weights (1, 3): pixel 0 (class 1) 3 * 0.287682, pixel 1 (class 0) 1 * 0.693147;
    # PyTorch divides by the summed weights of the targets: (0.863046 + 0.693147) / 4 = 0.389048
    logits = torch.tensor([[[[0.0, 0.0]], [[math.log(3.0), 0.0]]]])
    target = torch.tensor([[[1, 0]]])
    criterion = build_criterion("weighted_ce", torch.tensor([1.0, 3.0]))
    assert criterion(logits, target).item() == pytest.approx(0.389048, abs=1e-6)


def test_enet_weights() -> None:
    # counts (50, 30, 20, 0) -> shares (0.5, 0.3, 0.2, 0); w = 1 / ln(1.02 + p):
    # 1/ln(1.52) = 2.388286, 1/ln(1.32) = 3.601894, 1/ln(1.22) = 5.028895, 1/ln(1.02) = 50.49835
    weights = enet_weights(np.array([50.0, 30.0, 20.0, 0.0]))
    np.testing.assert_allclose(weights, [2.388286, 3.601894, 5.028895, 50.49835], rtol=1e-6)


def test_enet_weights_other_constant() -> None:
    # c = 1.5, shares (0.5, 0.5): 1 / ln(2) = 1.442695
    np.testing.assert_allclose(enet_weights(np.array([1.0, 1.0]), c=1.5), [1.442695] * 2, 1e-6)


def tiny_label_set() -> list[np.ndarray]:
    return [
        np.array([[0, 0], [1, IGNORE]], dtype=np.uint8),  # 3 valid pixels: 0 x2, 1 x1
        np.array([[0, 2], [2, 2]], dtype=np.uint8),  # 4 valid pixels: 0 x1, 2 x3
    ]


def test_class_frequencies() -> None:
    class_pixels, image_pixels = class_frequencies(tiny_label_set(), num_classes=4)
    np.testing.assert_array_equal(class_pixels, [3, 1, 3, 0])
    # valid pixels of the images where each class occurs: 3 + 4, 3, 4, none
    np.testing.assert_array_equal(image_pixels, [7, 3, 4, 0])


def test_median_frequency_weights() -> None:
    # freq = class pixels / image pixels = (3/7, 1/3, 3/4, unseen); median of seen = 3/7
    # weights = median / freq = (1, (3/7) / (1/3) = 9/7, (3/7) / (3/4) = 4/7, 0 when unseen)
    class_pixels, image_pixels = class_frequencies(tiny_label_set(), num_classes=4)
    weights = median_frequency_weights(class_pixels, image_pixels)
    np.testing.assert_allclose(weights, [1.0, 1.285714, 0.571429, 0.0], rtol=1e-6)
    assert weights[3] == 0.0


def test_bootstrapped_keeps_pixels_below_threshold() -> None:
    # true-class probabilities 0.9, 0.6, 0.3, 0.1 (+ one ignored pixel); threshold 0.7 keeps
    # 0.6, 0.3, 0.1 (3 >= k = max(1, int(0.25 * 4)) = 1):
    # (-ln 0.6 - ln 0.3 - ln 0.1) / 3 = (0.510826 + 1.203973 + 2.302585) / 3 = 1.339128
    logits = two_class_logits(0.9, 0.6, 0.3, 0.1, 0.5)
    target = torch.tensor([[[0, 0, 0, 0, IGNORE]]])
    criterion = BootstrappedCrossEntropy(threshold=0.7, min_fraction=0.25)
    assert criterion(logits, target).item() == pytest.approx(1.339128, abs=1e-6)


def test_bootstrapped_top_k_fallback() -> None:
    # threshold 0.2 keeps only 0.1, fewer than k = int(0.5 * 4) = 2, so the 2 largest losses
    # are used: (-ln 0.1 - ln 0.3) / 2 = (2.302585 + 1.203973) / 2 = 1.753279
    logits = two_class_logits(0.9, 0.6, 0.3, 0.1, 0.5)
    target = torch.tensor([[[0, 0, 0, 0, IGNORE]]])
    criterion = BootstrappedCrossEntropy(threshold=0.2, min_fraction=0.5)
    assert criterion(logits, target).item() == pytest.approx(1.753279, abs=1e-6)


def test_bootstrapped_threshold_one_is_plain_cross_entropy() -> None:
    # (-ln 0.9 - ln 0.6 - ln 0.3 - ln 0.1) / 4 = (0.105361 + 4.017384) / 4 = 1.030686
    logits = two_class_logits(0.9, 0.6, 0.3, 0.1, 0.5)
    target = torch.tensor([[[0, 0, 0, 0, IGNORE]]])
    loss = BootstrappedCrossEntropy(threshold=1.0, min_fraction=0.25)(logits, target)
    assert loss.item() == pytest.approx(1.030686, abs=1e-6)
    assert loss.item() == pytest.approx(build_criterion("ce")(logits, target).item())


def test_bootstrapped_weights_scale_but_do_not_select() -> None:
    # weight 2 on class 0 doubles each pixel loss; hardness still uses the plain probability,
    # so the same 3 pixels are kept: 2 * 1.339128 = 2.678256
    logits = two_class_logits(0.9, 0.6, 0.3, 0.1)
    target = torch.tensor([[[0, 0, 0, 0]]])
    criterion = BootstrappedCrossEntropy(0.7, 0.25, weight=torch.tensor([2.0, 1.0]).double())
    assert criterion(logits, target).item() == pytest.approx(2.678256, abs=1e-6)


def test_bootstrapped_all_ignored_is_zero_with_gradient() -> None:
    logits = torch.randn(2, 3, 4, 5, requires_grad=True)
    target = torch.full((2, 4, 5), IGNORE)
    loss = BootstrappedCrossEntropy()(logits, target)
    assert loss.item() == 0.0
    assert loss.requires_grad
    loss.backward()
    assert logits.grad is not None
    assert not logits.grad.any()


def test_bootstrapped_gradient_flows_to_kept_pixels_only() -> None:
    logits = two_class_logits(0.9, 0.6).float().requires_grad_()
    target = torch.tensor([[[0, 0]]])
    BootstrappedCrossEntropy(threshold=0.7, min_fraction=0.25)(logits, target).backward()
    assert not logits.grad[..., 0].any()  # p = 0.9 is easy: dropped
    assert logits.grad[..., 1].abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"min_fraction": 0.0}, "min_fraction"),
        ({"min_fraction": 1.1}, "min_fraction"),
    ],
)
def test_bootstrapped_rejects_invalid_arguments(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BootstrappedCrossEntropy(**kwargs)


def test_build_criterion_names() -> None:
    assert LOSS_NAMES == ("ce", "weighted_ce", "bootstrapped_ce")
    ce = build_criterion("ce")
    assert isinstance(ce, nn.CrossEntropyLoss)
    assert ce.ignore_index == IGNORE
    assert ce.weight is None

    weights = torch.tensor([1.0, 2.0, 3.0])
    weighted = build_criterion("weighted_ce", weights)
    assert isinstance(weighted, nn.CrossEntropyLoss)
    assert weighted.ignore_index == IGNORE
    torch.testing.assert_close(weighted.weight, weights)

    bootstrapped = build_criterion("bootstrapped_ce", threshold=0.5, min_fraction=0.1)
    assert isinstance(bootstrapped, BootstrappedCrossEntropy)
    assert (bootstrapped.threshold, bootstrapped.min_fraction) == (0.5, 0.1)
    assert bootstrapped.ignore_index == IGNORE
    assert bootstrapped.weight is None


def test_build_criterion_errors() -> None:
    with pytest.raises(ValueError, match="weighted_ce needs class weights"):
        build_criterion("weighted_ce")
    with pytest.raises(ValueError, match=r"unknown loss 'focal'.*bootstrapped_ce"):
        build_criterion("focal")
