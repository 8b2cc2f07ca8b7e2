"""Driving pieces without ROS: simulator labels, the expert, command mapping and
limits, the policy model, demonstrations from a bag with labels and pseudo-labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seg_perception.driving.commands import (
    CommandLimiter,
    LimiterConfig,
    action_to_twist_values,
    twist_values_to_action,
)
from seg_perception.driving.policy_model import DrivingPolicy
from seg_perception.driving.sim import CarRacingSim
from seg_perception.driving.sim_labels import BACKGROUND, CAR, GRASS, KERB, ROAD

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def sim():
    sim = CarRacingSim()
    yield sim
    sim.close()


def _nearest_colour_classes(frame: np.ndarray, env) -> np.ndarray:
    """Class of each pixel by its nearest palette colour (an independent check)."""
    palette = {
        ROAD: [tuple(env.road_color)],
        GRASS: [tuple(env.grass_color), tuple(env.bg_color)],
        KERB: [(255, 255, 255), (255, 0, 0)],
    }
    colours = [(c, k) for k, cs in palette.items() for c in cs]
    distances = np.stack(
        [np.abs(frame.astype(int) - np.array(c)).sum(-1) for c, _ in colours], axis=-1
    )
    return np.array([k for _, k in colours])[distances.argmin(-1)]


def test_labels_agree_with_the_rendered_colours(sim):
    sim.reset(3)
    for _ in range(80):  # past the zoom-in
        sim.step(np.array([0.0, 0.3, 0.0]))
    labels = sim.labels()
    assert labels.shape == (96, 96) and labels.dtype == np.uint8
    assert (labels[84:] == BACKGROUND).all()  # the indicator bar
    assert (labels[:84] != BACKGROUND).all()
    car = np.argwhere(labels == CAR)
    assert 15 < len(car) < 150
    assert 60 < car[:, 0].mean() < 80 and 44 < car[:, 1].mean() < 52  # bottom centre
    world = (labels[:84] == ROAD) | (labels[:84] == GRASS)
    by_colour = _nearest_colour_classes(sim.frame[:84], sim.unwrapped)
    agree = (by_colour[world] == labels[:84][world]).mean()
    assert agree > 0.95, f"labels agree with the picture on only {agree:.1%} of road/grass"
    assert (labels == ROAD).sum() > 300


def test_expert_records_a_good_lap():
    from seg_perception.driving.demos import record_expert_demos

    demos, returns = record_expert_demos([1], steer_noise=0.0)
    assert returns[0] > 850  # a lap, fast: 1000 - 0.1 per step
    n = len(demos)
    assert 500 < n < 1000 and demos.frames.shape == (n, 96, 96, 3)
    assert demos.actions.shape == (n, 3) and demos.labels.shape == (n, 96, 96)
    assert (demos.episodes == 1).all()
    assert np.abs(demos.actions[:, 0]).max() <= 1 and (demos.actions[:, 1:] >= 0).all()
    assert (demos.labels[:, :84] == ROAD).mean() > 0.2  # the expert stays on the road
    sim = CarRacingSim()
    try:  # the zoom-in is recorded too: the policy has to drive through it
        assert np.array_equal(demos.frames[0], sim.reset(1))
    finally:
        sim.close()


def test_twist_mapping_round_trip():
    assert twist_values_to_action(0.6, 0.5).tolist() == [-0.5, 0.6, 0.0]
    assert twist_values_to_action(-0.4, -2.0).tolist() == [1.0, 0.0, 0.4]
    for action in ([0.3, 0.7, 0.0], [-1.0, 0.0, 0.5]):
        linear, angular = action_to_twist_values(np.array(action))
        assert twist_values_to_action(linear, angular).tolist() == pytest.approx(action)


def test_limiter_caps_magnitude_and_rate():
    limiter = CommandLimiter(
        LimiterConfig(max_steer=0.5, max_forward=0.8, steer_rate=10.0, throttle_rate=10.0)
    )
    assert limiter(0.0, 1.0, 1.0) == (0.8, 0.5)
    linear, angular = limiter(0.02, -1.0, -1.0)
    assert linear == pytest.approx(0.6) and angular == pytest.approx(0.3)
    assert limiter(5.0, -1.0, -1.0) == (-1.0, -0.5)  # a long gap restarts the rate limit


@pytest.mark.parametrize(
    ("name", "stamps"),
    [
        ("frozen", [1.0] * 8),
        ("backward", [1.0 - 0.5 * i for i in range(8)]),
        ("jumping", [1.0 + 10.0 * i for i in range(8)]),
    ],
)
def test_limiter_holds_whatever_the_stamps_do(name: str, stamps: list[float]) -> None:
    """Frames 20 ms apart on the node clock; bang-bang steering requests; the steer
    change per frame stays within steer_rate * 20 ms."""
    config = LimiterConfig(steer_rate=0.75 / 0.02, throttle_rate=15.0)
    limiter = CommandLimiter(config)
    previous = limiter(stamps[0], 0.0, 0.0, now_s=100.0)[1]
    for index, stamp in enumerate(stamps[1:], start=1):
        request = 1.0 if index % 2 else -1.0
        steer = limiter(stamp, 0.0, request, now_s=100.0 + 0.02 * index)[1]
        assert abs(steer - previous) <= 0.75 + 1e-9, (name, index, previous, steer)
        previous = steer
    # without a clock, a stamp that does not advance allows no change at all
    bare = CommandLimiter(config)
    bare(1.0, 0.0, 0.0)
    assert bare(1.0, 1.0, 1.0) == (0.0, 0.0)
    assert bare(0.5, -1.0, -1.0) == (0.0, 0.0)


def test_policy_model_outputs_and_trains_a_step():
    torch.manual_seed(0)
    model = DrivingPolicy()
    images = torch.randn(4, 3, 96, 96)
    out = model(images)
    assert out["action"].shape == (4, 3) and out["seg"].shape == (4, 5, 96, 96)
    assert (out["action"][:, 0].abs() < 1).all() and (out["action"][:, 1:] > 0).all()
    assert "seg" not in model(images, with_segmentation=False)
    loss = out["action"].sum() + out["seg"].mean()
    loss.backward()
    assert model.policy_head[-1].weight.grad is not None


def _write_drive_bag(path, sim, steps: int = 12) -> list[np.ndarray]:
    """A bag as the bridge and a driver would leave it: frames, labels, cmd_vel after each."""
    from seg_perception.bags.bag_writer import BagWriter
    from seg_perception.bags.image_messages import IMAGE_TYPE, Stamp
    from seg_perception.driving.bag_demos import TWIST_TYPE
    from seg_perception.image_codec import encode_raw

    sim.reset(5)
    actions = []
    with BagWriter(path) as bag:
        bag.add_topic("/sim/image", IMAGE_TYPE)
        bag.add_topic("/sim/labels", IMAGE_TYPE)
        bag.add_topic("/cmd_vel", TWIST_TYPE)
        types = bag.typestore.types
        for step in range(steps):
            t_ns = 1_000_000_000 + step * 20_000_000
            stamp = Stamp.from_ns(t_ns)
            bag.write("/sim/image", t_ns, bag.image(stamp, "car", encode_raw(sim.frame, "rgb8")))
            bag.write(
                "/sim/labels", t_ns, bag.image(stamp, "car", encode_raw(sim.labels(), "mono8"))
            )
            action = np.array([0.1 * (step % 3 - 1), 0.5, 0.0])
            linear, angular = action_to_twist_values(action)
            vector = types["geometry_msgs/msg/Vector3"]
            twist = types[TWIST_TYPE](
                linear=vector(x=linear, y=0.0, z=0.0), angular=vector(x=0.0, y=0.0, z=angular)
            )
            if step != steps - 1:  # the last frame gets no answer
                bag.write("/cmd_vel", t_ns + 5_000_000, twist)
            actions.append(action)
            sim.step(action)
    return actions


def test_bag_demos_with_labels_and_with_pseudo_labels(sim, tmp_path):
    from seg_perception.checkpoint import save_checkpoint
    from seg_perception.driving.bag_demos import demos_from_bag
    from seg_perception.driving.sim_labels import DRIVING_CLASSES
    from seg_perception.models import build_model

    bag = tmp_path / "drive.mcap"
    actions = _write_drive_bag(bag, sim)
    demos, counts = demos_from_bag(bag, "/sim/image", labels_topic="/sim/labels")
    assert counts == {"frames": 12, "paired": 11, "unanswered": 1}
    assert np.allclose(demos.actions, np.array(actions[:11]), atol=1e-6)
    assert demos.frames.shape == (11, 96, 96, 3) and demos.labels.shape == (11, 96, 96)
    assert (demos.labels[:, 90] == BACKGROUND).all()

    teacher = tmp_path / "teacher.pt"
    model = build_model("lraspp", 5, encoder="mobilenet_v3_small", inter_channels=16)
    save_checkpoint(
        teacher,
        {
            "model_name": "lraspp",
            "model_kwargs": {"encoder": "mobilenet_v3_small", "inter_channels": 16},
            "class_names": list(DRIVING_CLASSES.names),
            "state_dict": model.state_dict(),
        },
    )
    pseudo, _ = demos_from_bag(bag, "/sim/image", teacher=teacher)
    with torch.inference_mode():
        from seg_perception.driving.policy_runner import frames_to_batch

        expected = model.eval()(frames_to_batch(pseudo.frames[:2]))["out"].argmax(1).numpy()
    assert np.array_equal(pseudo.labels[:2], expected)
    with pytest.raises(ValueError, match="labels topic or a teacher"):
        demos_from_bag(bag, "/sim/image")


def test_train_policy_checkpoints_resumes_and_exports_the_seg_branch(tmp_path):
    from seg_perception.checkpoint import load_model
    from seg_perception.driving.demos import Demonstrations, save_demos
    from seg_perception.driving.policy_runner import load_policy
    from seg_perception.driving.sim_labels import DRIVING_CLASSES
    from seg_perception.training.policy_config import PolicyTrainConfig
    from seg_perception.training.train_policy import train_policy

    rng = np.random.default_rng(0)
    demos = Demonstrations(
        rng.integers(0, 256, (8, 96, 96, 3), dtype=np.uint8),
        rng.random((8, 3), dtype=np.float32),
        rng.integers(0, 5, (8, 96, 96), dtype=np.uint8),
        np.zeros(8, dtype=np.int64),
    )
    save_demos(tmp_path / "demos.npz", demos)

    def config(name: str, seg_weight: float, epochs: int = 2, **kwargs) -> PolicyTrainConfig:
        return PolicyTrainConfig(
            demos=[str(tmp_path / "demos.npz")],
            seg_weight=seg_weight,
            epochs=epochs,
            batch_size=4,
            out_dir=str(tmp_path / name),
            **kwargs,
        )

    final = train_policy(config("no_aux", 0.0, epochs=1), device="cpu")
    assert load_policy(final)[1]["seg_weight"] == 0.0
    assert not (final.parent / "segmentation.pt").exists()  # lambda 0: the head never trained

    # a time budget stops the run after epoch 0; --resume finishes it
    train_policy(config("aux", 0.5, time_budget_minutes=1e-9), device="cpu")
    assert len((tmp_path / "aux" / "log.csv").read_text().splitlines()) == 2
    with pytest.raises(ValueError, match="one-cycle schedule of 4 steps"):
        train_policy(config("aux", 0.5, epochs=3), resume=True, device="cpu")
    final = train_policy(config("aux", 0.5), resume=True, device="cpu")
    rows = (final.parent / "log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1"]
    assert float(rows[-1].split(",")[2]) > 0  # the seg loss was trained
    _, payload = load_model(final.parent / "segmentation.pt", expected_classes=DRIVING_CLASSES)
    assert payload["model_name"] == "lraspp" and payload["seg_weight"] == 0.5
