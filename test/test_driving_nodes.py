"""The CarRacing bridge and the policy node as real processes over Fast DDS.

- the bridge in lock-step: one step per cmd_vel, frames stamped 20 ms apart, labels
  with the same stamps, episode fields, the reset service moving to the next seed;
- the policy node drives the bridge (fixed rate), sends zero commands once the
  camera stops and while the emergency stop is engaged;
- one episode through both node processes returns what the in-process loop returns.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Float64MultiArray, Header
from std_srvs.srv import SetBool, Trigger

from seg_perception.checkpoint import POLICY_CHECKPOINT
from seg_perception.nodes.ros_graph import NodeProcess
from seg_perception.nodes.ros_image import array_to_image_msg
from seg_perception.nodes.sim_bridge_node import EPISODE_FIELDS

if TYPE_CHECKING:
    from conftest import RosHarness

pytestmark = pytest.mark.ros

RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
STARTUP = 60.0


def _stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def test_bridge_lock_step_labels_episode_and_reset(ros: RosHarness, tmp_path: Path) -> None:
    node = ros.node
    images, labels, episodes = [], [], []
    subs = [
        node.create_subscription(
            Image, "/bridge_t/sim_bridge_node/image", images.append, RELIABLE
        ),
        node.create_subscription(
            Image, "/bridge_t/sim_bridge_node/labels", labels.append, RELIABLE
        ),
        node.create_subscription(
            Float64MultiArray, "/bridge_t/sim_bridge_node/episode", episodes.append, RELIABLE
        ),
    ]
    cmd_pub = node.create_publisher(Twist, "/bridge_t/cmd_vel", 10)
    reset = node.create_client(Trigger, "/bridge_t/sim_bridge_node/reset")
    args = [
        "-r",
        "__ns:=/bridge_t",
        "-p",
        "seed:=7",
        "-p",
        "step_mode:=lock_step",
        "-p",
        "image_scale:=2",
        "-p",
        "command_timeout:=2.0",
    ]
    try:
        with NodeProcess("sim_bridge_node", args, ros.env, tmp_path / "bridge.log") as bridge:
            assert ros.spin_until(lambda: images, STARTUP), bridge.report("no first frame")
            first = images[-1]
            assert (first.width, first.height, first.encoding) == (192, 192, "rgb8")
            for _step in range(5):
                count = len(images)
                twist = Twist()
                twist.linear.x = 0.5
                cmd_pub.publish(twist)
                assert ros.spin_until(lambda n=count: len(images) > n, 10.0), bridge.report(
                    "no step"
                )
            stamps = [_stamp_ns(m) for m in images[-6:]]
            assert all(b - a == 20_000_000 for a, b in itertools.pairwise(stamps)), stamps

            def labelled() -> bool:  # these very frames' labels: the last may be on its way
                return set(stamps) <= {_stamp_ns(m) for m in labels}

            assert ros.spin_until(labelled, 10.0), (stamps, [_stamp_ns(m) for m in labels])
            label = np.frombuffer(bytes(labels[-1].data), np.uint8)
            assert labels[-1].encoding == "mono8" and label.max() <= 4

            def last_episode() -> dict[str, float]:
                return (
                    dict(zip(EPISODE_FIELDS, episodes[-1].data, strict=True)) if episodes else {}
                )

            # wait for the 5th step's episode message itself, not for a neighbour topic
            assert ros.spin_until(lambda: last_episode().get("steps") == 5, 10.0), episodes
            row = last_episode()
            assert row["seed"] == 7 and row["episode"] == 0
            assert row["done"] == 0.0 and row["return"] != 0.0
            assert reset.wait_for_service(timeout_sec=10.0)
            future = reset.call_async(Trigger.Request())
            assert ros.spin_until(future.done, 10.0)
            assert future.result().success and "seed 8" in future.result().message
            assert ros.spin_until(lambda: last_episode().get("done") == 1.0, 10.0), episodes
    finally:
        for sub in subs:
            node.destroy_subscription(sub)
        node.destroy_publisher(cmd_pub)
        node.destroy_client(reset)


@pytest.mark.skipif(not POLICY_CHECKPOINT.is_file(), reason="no bundled policy yet")
def test_policy_drives_then_stops_when_the_camera_stops(ros: RosHarness, tmp_path: Path) -> None:
    node = ros.node
    commands: list[tuple[float, float, float]] = []
    statuses = []

    def on_cmd(msg: Twist) -> None:
        commands.append((time.monotonic(), msg.linear.x, msg.angular.z))

    subs = [
        node.create_subscription(Twist, "/drive_t/cmd_vel", on_cmd, 10),
        node.create_subscription(
            DiagnosticArray,
            "/diagnostics",
            lambda m: statuses.extend(s for s in m.status if "policy_node" in s.name),
            10,
        ),
    ]
    estop = node.create_client(SetBool, "/drive_t/policy_node/estop")
    camera = node.create_publisher(Image, "/drive_t/sim_bridge_node/image", 10)
    broken_feed = None
    bridge_args = ["-r", "__ns:=/drive_t", "-p", "seed:=1000", "-p", "rate_hz:=25.0"]
    policy_args = [
        "-r",
        "__ns:=/drive_t",
        "-r",
        "image:=/drive_t/sim_bridge_node/image",
        "-p",
        "stale_timeout:=0.5",
    ]
    try:
        with NodeProcess("policy_node", policy_args, ros.env, tmp_path / "policy.log") as policy:
            bridge = NodeProcess("sim_bridge_node", bridge_args, ros.env, tmp_path / "bridge.log")
            with bridge:
                moving = lambda: sum(1 for _, x, _ in commands[-20:] if x > 0.05) >= 10  # noqa: E731
                assert ros.spin_until(moving, STARTUP), policy.report("the policy never drove")
                assert estop.wait_for_service(timeout_sec=10.0)
                future = estop.call_async(SetBool.Request(data=True))
                assert ros.spin_until(future.done, 10.0) and future.result().success
                engaged_at = time.monotonic()
                ros.spin_until(lambda: False, 1.0)
                after = [(x, z) for t, x, z in commands if t > engaged_at + 0.2]
                assert after and all(c == (0.0, 0.0) for c in after)
                future = estop.call_async(SetBool.Request(data=False))
                assert ros.spin_until(future.done, 10.0)
                released_at = time.monotonic()
                assert ros.spin_until(
                    lambda: any(t > released_at and x > 0.0 for t, x, _ in commands), 10.0
                ), policy.report("no driving after the e-stop was released")
            stopped_at = time.monotonic()  # the bridge (the camera) is gone
            # only broken frames arrive now (too few bytes): they must not count as fresh
            broken = Image(height=96, width=96, encoding="rgb8", step=288, data=bytes(10))
            broken_feed = node.create_timer(0.05, lambda: camera.publish(broken))
            ros.spin_until(lambda: False, 2.0)
            late = [(x, z) for t, x, z in commands if t > stopped_at + 0.7]
            assert len(late) >= 10, policy.report("no zero commands while stale")
            assert all(c == (0.0, 0.0) for c in late)
            assert ros.spin_until(lambda: any("stale" in s.message for s in statuses), 5.0), (
                "diagnostics do not report the stale camera"
            )
            values = {v.key: v.value for v in statuses[-1].values}
            assert int(values["stale_events"]) >= 1 and "latency_inference_mean_ms" in values
            assert int(values["rejected"]) >= 10, values

            # a frame sent twice (the lock-step bridge's resend) is answered once
            node.destroy_timer(broken_feed)
            broken_feed = None
            frame = np.zeros((96, 96, 3), np.uint8)
            header = Header(stamp=Time(sec=42, nanosec=7), frame_id="car")
            commands_before = int(values["commands"])
            for _ in range(2):
                camera.publish(array_to_image_msg(frame, "rgb8", header))
                ros.spin_until(lambda: False, 0.3)

            def counted() -> dict[str, str]:
                return {v.key: v.value for v in statuses[-1].values}

            answered = ros.spin_until(lambda: int(counted()["duplicates"]) == 1, 10.0)
            assert answered, counted()
            assert int(counted()["commands"]) == commands_before + 1, counted()
            assert policy.alive()
    finally:
        if broken_feed is not None:
            node.destroy_timer(broken_feed)
        for sub in subs:
            node.destroy_subscription(sub)
        node.destroy_publisher(camera)
        node.destroy_client(estop)


@pytest.mark.skipif(not POLICY_CHECKPOINT.is_file(), reason="no bundled policy yet")
def test_one_episode_through_ros_equals_in_process(tmp_path: Path) -> None:
    import torch

    from seg_perception.driving.drive_eval import evaluate_in_process
    from seg_perception.driving.policy_runner import PolicyRunner, load_policy
    from seg_perception.nodes.drive_eval_ros import evaluate_through_ros

    torch.set_num_threads(1)
    model, _ = load_policy(POLICY_CHECKPOINT)
    local = evaluate_in_process(PolicyRunner(model, device="cpu"), [1003])[0]
    remote = evaluate_through_ros(POLICY_CHECKPOINT, [1003], tmp_path)[0]
    assert remote.seed == local.seed
    assert remote.episode_return == pytest.approx(local.episode_return, rel=0.02, abs=5.0)
