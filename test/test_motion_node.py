"""``segmentation_node`` with ``use_flow``: ``~/motion`` and ``~/flow`` from a real process,
and a clean restart of the flow stream when the stamps jump back.

The two-stream checkpoint here has the bundled appearance stream and an untrained motion
head: the test checks the outputs' form and the stream logic, not their quality.
"""

from __future__ import annotations

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
from test_segmentation_node import SAMPLE_IMAGE, STARTUP_TIMEOUT, image_msg, output_pixels

from seg_perception.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint, save_checkpoint
from seg_perception.classes import CAMVID
from seg_perception.models import TWO_STREAM, build_model

if TYPE_CHECKING:
    from conftest import NodeLauncher, RosHarness

pytestmark = pytest.mark.ros

NAME = "segmentation_node_motion"
TOPIC = "/motion_cam/image"
OUTPUTS = ("labels", "motion", "flow")
QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
SIZE = (320, 240)


@pytest.fixture(scope="module")
def motion_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = build_model(TWO_STREAM, CAMVID.num_classes, use_flow=True)
    model.load_appearance_from(load_checkpoint(DEFAULT_CHECKPOINT)["state_dict"])
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

    def _store(self, name: str, msg: Image) -> None:
        self.by_stamp[(msg.header.stamp.sec, msg.header.stamp.nanosec)][name] = msg

    def _status(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            if status.name.startswith(NAME) and values.get("input_topic") == TOPIC:
                self.diagnostics = values


@pytest.fixture
def outputs(ros: RosHarness) -> Iterator[Outputs]:
    collected = Outputs(ros)
    yield collected
    for subscription in collected.subscriptions:
        ros.node.destroy_subscription(subscription)


def stamp(seconds: float) -> TimeMsg:
    return TimeMsg(sec=int(seconds), nanosec=round((seconds % 1) * 1e9))


def test_motion_outputs_and_reset_on_time_jump(
    ros: RosHarness,
    node_launcher: NodeLauncher,
    motion_checkpoint: Path,
    outputs: Outputs,
    tmp_path: Path,
) -> None:
    ros_args = ("-r", f"__node:={NAME}", "-r", f"image:={TOPIC}", "-p", "use_flow:=true")
    ros_args += ("-p", f"motion_checkpoint:={motion_checkpoint}", "-p", "diagnostics_period:=0.2")
    publisher = ros.node.create_publisher(Image, TOPIC, QOS)
    # 25 fps, then the stamps jump back (a bag replayed from the start), then go on
    stamps = [100.0, 100.04, 100.08, 50.0, 50.04]
    with node_launcher.run(*ros_args, log_path=tmp_path / f"{NAME}.log") as process:
        ros.spin_until(
            lambda: publisher.get_subscription_count() > 0 or not process.alive(),
            STARTUP_TIMEOUT,
        )
        assert publisher.get_subscription_count() > 0, process.report("node did not subscribe")
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
