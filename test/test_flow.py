"""Optical flow: both methods on a known shift, the encodings, and stream resets."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from seg_perception.motion import (
    DIS_PRESETS,
    FlowEstimator,
    FlowStream,
    flow_to_network_input,
    flow_to_rgb,
)

SHIFT = (3, -2)  # (dx, dy) pixels


def textured_frame(height: int = 120, width: int = 160, seed: int = 0) -> np.ndarray:
    """Smooth random texture (RGB uint8): trackable everywhere."""
    noise = np.random.default_rng(seed).uniform(0, 255, (height, width, 3)).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 2.0).clip(0, 255).astype(np.uint8)


def shifted(frame: np.ndarray, dx: int, dy: int) -> np.ndarray:
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    height, width = frame.shape[:2]
    return cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize(
    ("method", "preset"), [("dis", p) for p in DIS_PRESETS] + [("farneback", "fast")]
)
def test_flow_recovers_a_known_shift(method: str, preset: str) -> None:
    first = textured_frame()
    flow = FlowEstimator(method, preset)(first, shifted(first, *SHIFT))
    assert flow.shape == (120, 160, 2)
    assert flow.dtype == np.float32
    interior = flow[20:-20, 20:-20].reshape(-1, 2)
    np.testing.assert_allclose(np.median(interior, axis=0), SHIFT, atol=0.3)


def test_flow_rejects_bad_input() -> None:
    estimator = FlowEstimator()
    frame = textured_frame()
    with pytest.raises(ValueError, match="sizes differ"):
        estimator(frame, frame[:100])
    with pytest.raises(ValueError, match="uint8"):
        estimator(frame.astype(np.float32), frame)
    with pytest.raises(ValueError, match="unknown flow method"):
        FlowEstimator("lucas-kanade")
    with pytest.raises(ValueError, match="unknown DIS preset"):
        FlowEstimator("dis", "slow")


def test_network_input_is_flow_over_image_size() -> None:
    flow = np.zeros((4, 8, 2), np.float32)
    flow[..., 0], flow[..., 1] = 2.0, -1.0
    tensor = flow_to_network_input(flow)
    assert tensor.shape == (2, 4, 8)
    np.testing.assert_allclose(tensor[0], 2.0 / 8)
    np.testing.assert_allclose(tensor[1], -1.0 / 4)


def test_flow_picture_hue_is_direction_and_value_is_speed() -> None:
    flow = np.zeros((2, 3, 2), np.float32)
    flow[0, 0] = (4.0, 0.0)  # right: red
    flow[0, 1] = (0.0, 4.0)  # down (image y): hue 90 degrees, yellow-green
    flow[0, 2] = (2.0, 0.0)  # right, half speed
    picture = flow_to_rgb(flow, max_magnitude=4.0)
    assert picture.dtype == np.uint8
    np.testing.assert_array_equal(picture[1], 0)  # still pixels are black
    np.testing.assert_array_equal(picture[0, 0], (255, 0, 0))
    assert picture[0, 1, 1] == 255 and picture[0, 1, 2] == 0 and 120 <= picture[0, 1, 0] <= 135
    assert 125 <= picture[0, 2, 0] <= 130
    assert flow_to_rgb(np.zeros((2, 2, 2), np.float32)).max() == 0  # default scale >= 1 px


def test_stream_gives_flow_between_consecutive_frames() -> None:
    stream = FlowStream(FlowEstimator(), max_gap_s=0.5)
    first = textured_frame()
    assert stream.push(first, 10.0) is None
    flow = stream.push(shifted(first, *SHIFT), 10.1)
    assert flow is not None
    np.testing.assert_allclose(np.median(flow[20:-20, 20:-20].reshape(-1, 2), 0), SHIFT, atol=0.3)
    assert stream.resets == {"first frame": 1}


@pytest.mark.parametrize(
    ("stamp", "size", "reason"),
    [
        (9.0, (120, 160), "time went backwards"),
        (10.1, (120, 160), "time went backwards"),  # the same stamp again
        (10.7, (120, 160), "gap too long"),
        (10.2, (96, 128), "size changed"),
    ],
)
def test_stream_resets_instead_of_giving_garbage(
    stamp: float, size: tuple[int, int], reason: str
) -> None:
    stream = FlowStream(FlowEstimator(), max_gap_s=0.5)
    stream.push(textured_frame(), 10.0)
    stream.push(textured_frame(seed=1), 10.1)
    assert stream.push(textured_frame(*size, seed=2), stamp) is None
    assert stream.last_reset_reason == reason
    assert stream.resets[reason] == 1
    # the stream restarted from that frame: the next one in order gives flow again
    assert stream.push(textured_frame(*size, seed=3), stamp + 0.1) is not None


def test_stream_reset_and_validation() -> None:
    stream = FlowStream(FlowEstimator())
    stream.push(textured_frame(), 1.0)
    stream.reset()
    assert stream.push(textured_frame(), 1.1) is None
    assert stream.resets["first frame"] == 2
    with pytest.raises(ValueError, match="max_gap_s"):
        FlowStream(FlowEstimator(), max_gap_s=0.0)
