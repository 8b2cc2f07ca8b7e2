"""``segmentation_node`` with ``use_flow``: ``~/motion`` and ``~/flow`` from a real process,
and a clean restart of the flow stream when the stamps jump back: once from a test
publisher, once from a DAVIS sequence played twice as a bag by ``bag-play`` into a node
with the bundled two-stream checkpoint.

The first test's checkpoint has the bundled appearance stream and an untrained motion
head: the test checks the outputs' form and the stream logic, not their quality.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time as TimeMsg
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from test_bag_live import verb_process
from test_segmentation_node import SAMPLE_IMAGE, STARTUP_TIMEOUT, image_msg, output_pixels

from seg_perception.bags.bag_make import IMAGE_TOPIC, make_bag
from seg_perception.checkpoint import MOBILENET_CHECKPOINT, load_checkpoint, save_checkpoint
from seg_perception.classes import CAMVID
from seg_perception.models import TWO_STREAM, build_model

if TYPE_CHECKING:
    from conftest import NodeLauncher, RosHarness

pytestmark = pytest.mark.ros

NAME = "segmentation_node_motion"
TOPIC = IMAGE_TOPIC  # where bag-play publishes
OUTPUTS = ("labels", "motion", "flow")
QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
SIZE = (320, 240)


@pytest.fixture(scope="module")
def motion_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = build_model(TWO_STREAM, CAMVID.num_classes, use_flow=True)
    model.load_appearance_from(load_checkpoint(MOBILENET_CHECKPOINT)["state_dict"])
    path = tmp_path_factory.mktemp("motion") / "two_stream.pt"
    payload = {
        "model_name": TWO_STREAM,
        "model_kwargs": {"use_flow": True},
        "class_names": list(CAMVID.names),
        "state_dict": model.state_dict(),
        "train_sequences": [],
        "input_size": [160, 96],
        "flow": {"method": "dis", "preset": "fast"},
    }
    save_checkpoint(path, payload, half=True)
    return path


def frames() -> list[np.ndarray]:
    """The CamVid sample panning right by 3 px a frame."""
    rgb = cv2.cvtColor(cv2.imread(str(SAMPLE_IMAGE)), cv2.COLOR_BGR2RGB)
    return [cv2.resize(rgb[:, 3 * k : 400 + 3 * k], SIZE) for k in range(5)]


class Outputs:
    def __init__(self, ros: RosHarness):
        self.by_stamp: dict[tuple[int, int], dict[str, Image]] = defaultdict(dict)
        self.diagnostics: dict[str, str] = {}
        self.subscriptions = [
            ros.node.create_subscription(Image, f"/{NAME}/{name}", partial(self._store, name), QOS)
            for name in OUTPUTS
        ]
        self.subscriptions.append(
            ros.node.create_subscription(DiagnosticArray, "/diagnostics", self._status, 10)
        )

    def connected(self) -> bool:
        return all(s.get_publisher_count() > 0 for s in self.subscriptions[: len(OUTPUTS)])

    def _store(self, name: str, msg: Image) -> None:
        self.by_stamp[(msg.header.stamp.sec, msg.header.stamp.nanosec)][name] = msg

    def _status(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            if status.name.startswith(f"/{NAME}: ") and values.get("input_topic") == TOPIC:
                self.diagnostics = values


@pytest.fixture
def outputs(ros: RosHarness) -> Iterator[Outputs]:
    collected = Outputs(ros)
    yield collected
    for subscription in collected.subscriptions:
        ros.node.destroy_subscription(subscription)


def motion_node_args(checkpoint: Path | None) -> tuple[str, ...]:
    """ROS arguments of a node named ``NAME`` reading ``TOPIC`` with the motion stream
    (``checkpoint`` None: the bundled two-stream model)."""
    chosen = ("-p", f"motion_checkpoint:={checkpoint}") if checkpoint else ()
    return (
        *("-r", f"__node:={NAME}", "-r", f"image:={TOPIC}", "-p", "use_flow:=true"),
        *chosen,
        *("-p", "diagnostics_period:=0.2", "-p", "num_threads:=1"),
    )


def stamp(seconds: float) -> TimeMsg:
    return TimeMsg(sec=int(seconds), nanosec=round((seconds % 1) * 1e9))


def test_motion_outputs_and_reset_on_time_jump(
    ros: RosHarness,
    node_launcher: NodeLauncher,
    motion_checkpoint: Path,
    outputs: Outputs,
    tmp_path: Path,
) -> None:
    ros_args = motion_node_args(motion_checkpoint)
    publisher = ros.node.create_publisher(Image, TOPIC, QOS)
    # 25 fps, then the stamps jump back (a bag replayed from the start), then go on
    stamps = [100.0, 100.04, 100.08, 50.0, 50.04]
    with node_launcher.run(*ros_args, log_path=tmp_path / f"{NAME}.log") as process:
        ros.spin_until(
            lambda: (
                (publisher.get_subscription_count() > 0 and outputs.connected())
                or not process.alive()
            ),
            STARTUP_TIMEOUT,
        )
        assert publisher.get_subscription_count() > 0, process.report("node did not subscribe")
        ros.spin_until(lambda: False, 1.0)  # discovery completes on the node's side too
        for rgb, seconds in zip(frames(), stamps, strict=True):
            msg = image_msg(rgb, "rgb8")
            msg.header = Header(stamp=stamp(seconds), frame_id="motion_cam")
            key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
            publisher.publish(msg)  # one at a time: the node keeps only the newest frame
            assert ros.spin_until(lambda k=key: "labels" in outputs.by_stamp[k]), process.report(
                f"no labels for stamp {seconds}"
            )
        ros.spin_until(lambda: "flow" in outputs.by_stamp[(50, 40_000_000)])
        ros.spin_until(
            lambda: (
                outputs.diagnostics.get("frames_processed") == "5"
                and "flow_resets (time went backwards)" in outputs.diagnostics
            )
        )
    ros.node.destroy_publisher(publisher)

    with_motion = [
        s for s in stamps if "motion" in outputs.by_stamp[(stamp(s).sec, stamp(s).nanosec)]
    ]
    # no previous frame at the start and after the jump back: no motion for those two
    assert with_motion == [100.04, 100.08, 50.04], process.report(f"motion for {with_motion}")
    for seconds in with_motion:
        msgs = outputs.by_stamp[(stamp(seconds).sec, stamp(seconds).nanosec)]
        assert set(msgs) == set(OUTPUTS)
        for name, encoding in (("motion", "mono8"), ("flow", "rgb8")):
            msg = msgs[name]
            assert (msg.width, msg.height, msg.encoding) == (*SIZE, encoding)
            assert msg.header.frame_id == "motion_cam"
        motion = np.frombuffer(msgs["motion"].data, np.uint8)
        assert set(np.unique(motion)) <= {0, 255}
        flow_picture = output_pixels(msgs["flow"], "overlay")  # rgb8 layout
        assert flow_picture.shape == (240, 320, 3) and flow_picture.max() > 0  # it moved
    values = outputs.diagnostics
    assert values["flow_resets (first frame)"] == "1", values
    assert values["flow_resets (time went backwards)"] == "1", values
    for stage in ("flow", "motion_inference", "motion_total"):
        assert float(values[f"latency_{stage}_mean_ms"]) > 0.0, values


BAG_FRAMES = 5
BAG_RATE = 5.0  # Hz of the stamps: 0.2 s apart, within flow_max_gap
PLAY_TIMEOUT = 90.0


@pytest.fixture(scope="module")
def davis_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = os.environ.get("SEG_PERCEPTION_DATA")
    frames = Path(root or "/nonexistent") / "davis2016" / "JPEGImages" / "480p" / "blackswan"
    if not frames.is_dir():
        pytest.skip("SEG_PERCEPTION_DATA does not hold davis2016/")
    bag = tmp_path_factory.mktemp("davis_bag") / "blackswan.mcap"
    make_bag(frames, bag, BAG_RATE, start_time=1_700_000_000.0, limit=BAG_FRAMES, progress=False)
    return bag


def test_davis_bag_played_twice_gives_motion_and_resets(
    ros: RosHarness,
    node_launcher: NodeLauncher,
    davis_bag: Path,
    outputs: Outputs,
    tmp_path: Path,
) -> None:
    ros_args = motion_node_args(None)  # the bundled DAVIS model
    stamps = [1_700_000_000 * 10**9 + round(k * 1e9 / BAG_RATE) for k in range(BAG_FRAMES)]
    keys = [divmod(ns, 10**9) for ns in stamps]
    passes = []
    with node_launcher.run(*ros_args, log_path=tmp_path / f"{NAME}.log") as process:
        # outputs published before the node's publishers match ours are lost: wait for them
        ros.spin_until(lambda: outputs.connected() or not process.alive(), STARTUP_TIMEOUT)
        assert outputs.connected(), process.report("node outputs not connected")
        ros.spin_until(lambda: False, 1.0)  # discovery completes on the node's side too
        for attempt in range(2):  # the second pass starts 0.8 s of stamps back in time
            outputs.by_stamp.clear()
            play = ["bag-play", "--bag", str(davis_bag), "--topics", IMAGE_TOPIC, "--rate", "0.5"]
            play += ["--delay", "1", "--wait-for-subscribers"]
            log = tmp_path / f"play{attempt}.log"
            with verb_process(ros.env, log, *play) as player:
                done = ros.spin_until(lambda p=player: p.poll() is not None, PLAY_TIMEOUT)
                assert done and player.returncode == 0, log.read_text()[-3000:]
            ros.spin_until(lambda: "labels" in outputs.by_stamp[keys[-1]], 15.0)
            ros.spin_until(lambda: False, 1.0)
            passes.append({k: set(outputs.by_stamp[k]) for k in keys})
        ros.spin_until(lambda: "flow_resets (time went backwards)" in outputs.diagnostics, 5.0)
    for outputs_of in passes:
        # the first frame of each pass restarts the stream: labels, no motion
        assert outputs_of[keys[0]] == {"labels"}, process.report(str(outputs_of))
        moving = [k for k in keys[1:] if outputs_of[k] == set(OUTPUTS)]
        assert len(moving) >= 2, process.report(f"motion for {len(moving)} frames: {outputs_of}")
    assert outputs.diagnostics["flow_resets (time went backwards)"] == "1", outputs.diagnostics
    assert outputs.diagnostics["flow_resets (first frame)"] == "1", outputs.diagnostics
