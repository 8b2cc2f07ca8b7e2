"""The policy trainer's data and schedule options: class-wise recolouring, the first N
episodes, a fixed number of batches per epoch and the class-weighted auxiliary loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seg_perception.driving.demos import Demonstrations, save_demos
from seg_perception.driving.recolour import recolour_road_and_grass
from seg_perception.driving.sim_labels import CAR, GRASS, KERB, ROAD
from seg_perception.training.policy_config import PolicyTrainConfig
from seg_perception.training.train_policy import (
    batch_order,
    first_episodes,
    seg_class_weights,
    train_policy,
)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def striped_frames(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames of flat grey 100 over rows labelled road, grass, kerb and car."""
    labels = torch.zeros(n, 8, 8, dtype=torch.uint8)
    for row, class_id in enumerate((ROAD, ROAD, GRASS, GRASS, KERB, KERB, CAR, CAR)):
        labels[:, row] = class_id
    return torch.full((n, 8, 8, 3), 100, dtype=torch.uint8), labels


def test_recolour_shifts_road_and_grass_only_each_by_one_offset() -> None:
    frames, labels = striped_frames(64)
    out = recolour_road_and_grass(frames, labels, 0.25, torch.Generator().manual_seed(0))
    assert out.dtype == torch.uint8 and out.shape == frames.shape
    changed = (out != frames).any(dim=(1, 2, 3))
    assert 16 < int(changed.sum()) < 48  # about half the frames
    assert torch.equal(out[:, 4:], frames[:, 4:])  # kerb and car untouched
    for rows in (slice(0, 2), slice(2, 4)):  # one offset per class and frame
        region = out[:, rows].int()
        assert torch.equal(region, region[:, :1, :1].expand_as(region))
        assert int((region - 100).abs().max()) <= round(0.5 * 255)  # brightness + tint
    assert not torch.equal(out[changed][:, 0], out[changed][:, 2])  # road and grass differ
    assert recolour_road_and_grass(frames, labels, 0.0, torch.Generator()) is frames


def demos_of(episodes: list[int]) -> Demonstrations:
    n = len(episodes)
    rng = np.random.default_rng(0)
    return Demonstrations(
        rng.integers(0, 256, (n, 96, 96, 3), dtype=np.uint8),
        rng.random((n, 3), dtype=np.float32),
        rng.integers(0, 5, (n, 96, 96), dtype=np.uint8),
        np.array(episodes, dtype=np.int64),
    )


def test_first_episodes_keeps_recording_order() -> None:
    demos = demos_of([7, 7, 3, 3, 3, 9])
    assert first_episodes(demos, 2).episodes.tolist() == [7, 7, 3, 3, 3]
    assert first_episodes(demos, 0) is demos
    with pytest.raises(ValueError, match="asked for 4 episodes, the demonstrations hold 3"):
        first_episodes(demos, 4)


def test_batch_order_covers_the_steps_with_whole_shuffled_passes() -> None:
    order = batch_order(10, steps=7, batch_size=4, generator=torch.Generator().manual_seed(1))
    assert len(order) == 30  # 28 indices needed: three passes of 10
    for start in (0, 10, 20):
        assert sorted(order[start : start + 10].tolist()) == list(range(10))


def test_median_frequency_weights_favour_rare_classes() -> None:
    labels = torch.zeros(4, 10, 10, dtype=torch.uint8)  # road everywhere...
    labels[:, 0, :2] = KERB  # ...but 2 % kerb
    config = PolicyTrainConfig(seg_class_weights="median_frequency")
    weights = seg_class_weights(config, labels)
    assert weights[KERB] > weights[ROAD] > 0 and weights[GRASS] == 0
    assert seg_class_weights(PolicyTrainConfig(), labels) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"episodes": -1}, "episodes and steps_per_epoch must be >= 0"),
        ({"recolour": 1.5}, "recolour must be in"),
        ({"seg_class_weights": "inverse"}, "seg_class_weights must be one of"),
    ],
)
def test_bad_options_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PolicyTrainConfig(**kwargs)


def test_training_with_every_option_runs_the_given_schedule(tmp_path: Path) -> None:
    save_demos(tmp_path / "d.npz", demos_of([1, 1, 2, 2, 3, 3]))
    config = PolicyTrainConfig(
        demos=[str(tmp_path / "d.npz")],
        episodes=2,
        steps_per_epoch=3,
        batch_size=2,
        epochs=1,
        recolour=0.25,
        seg_class_weights="median_frequency",
        out_dir=str(tmp_path / "run"),
    )
    final = train_policy(config, device="cpu")
    assert final.is_file() and (final.parent / "segmentation.pt").is_file()
    log = (final.parent / "log.csv").read_text().splitlines()
    assert len(log) == 2 and float(log[1].split(",")[2]) > 0  # seg loss trained


def test_the_bundled_recipes_configs_load() -> None:
    from seg_perception.training.policy_config import load_policy_config

    configs = Path(__file__).resolve().parents[1] / "config" / "driving"
    bc = load_policy_config(configs / "policy_bc.yaml")
    bundled = load_policy_config(configs / "policy.yaml")  # policy_bc.yaml as its base
    assert (bc.epochs, len(bc.demos), bc.recolour) == (4, 2, 0.25)
    assert (bundled.epochs, len(bundled.demos)) == (6, 5)
    assert bundled.demos[:2] == bc.demos and bundled.model_kwargs == bc.model_kwargs
