"""``segmentation_node`` with ``refine: crf`` as a real process under a 30 Hz stream:
it publishes CRF-refined labels stamped like their input, drops the frames it cannot
keep up with (by design) and keeps serving."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header

import seg_perception
from seg_perception.data.camvid import read_rgb
from seg_perception.nodes.ros_image import array_to_image_msg
from seg_perception.stages.build import build_frame_pipeline
from seg_perception.stages.segmentation_params import SegmentationParams

if TYPE_CHECKING:
    from conftest import RosHarness

pytestmark = pytest.mark.ros

SAMPLE = Path(seg_perception.__file__).parent / "samples/camvid/images/Seq05VD_f00000.jpg"
NAMESPACE = "crf"
STREAM_HZ = 30.0
STREAM_LIMIT_S = 90.0


def _labels(msg: Image) -> np.ndarray:
    return np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width)


def test_refined_labels_under_a_30hz_stream(ros: RosHarness, start_node) -> None:
    rgb = read_rgb(SAMPLE)
    common = {"device": "cpu", "num_threads": 1, "inference_backend": "torch"}
    refined, _ = build_frame_pipeline(SegmentationParams(refine="crf", **common), print)
    plain, _ = build_frame_pipeline(SegmentationParams(**common), print)
    expected = refined.run(lambda: rgb).frame.data["labels"]
    unrefined = plain.run(lambda: rgb).frame.data["labels"]
    assert (expected != unrefined).mean() > 0.002  # the CRF is visible in the labels

    node = ros.node
    labels: list[Image] = []
    diagnostics: dict[str, str] = {}

    def store_diagnostics(msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith(f"/{NAMESPACE}/segmentation_node: "):
                diagnostics.clear()
                diagnostics.update({kv.key: kv.value for kv in status.values})

    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    subscriptions = [
        node.create_subscription(
            Image, f"/{NAMESPACE}/segmentation_node/labels", labels.append, reliable
        ),
        node.create_subscription(DiagnosticArray, "/diagnostics", store_diagnostics, 10),
    ]
    publisher = node.create_publisher(Image, f"/{NAMESPACE}/image", qos_profile_sensor_data)
    try:
        process = start_node(
            "-r",
            f"__ns:=/{NAMESPACE}",
            "-p",
            "refine:=crf",
            "-p",
            "num_threads:=1",
            "-p",
            "inference_backend:=torch",
            "-p",
            "diagnostics_period:=0.2",
            name="crf_node",
        )
        sent: set[tuple[int, int]] = set()

        def served() -> bool:
            dropped = int(diagnostics.get("frames_dropped", 0))
            return len(labels) >= 3 and dropped >= 10

        deadline = time.monotonic() + STREAM_LIMIT_S
        index = 0
        while not served() and time.monotonic() < deadline and process.alive():
            stamp = Time(sec=1000 + index // 30, nanosec=(index % 30) * 33_000_000)
            sent.add((stamp.sec, stamp.nanosec))
            publisher.publish(array_to_image_msg(rgb, "rgb8", Header(stamp=stamp, frame_id="cam")))
            index += 1
            ros.spin_until(lambda: False, 1.0 / STREAM_HZ)
        assert served(), process.report(
            f"{len(labels)} labels for {index} frames in {STREAM_LIMIT_S} s; {diagnostics}"
        )
        assert process.alive(), process.report("node died under the stream")
        assert int(diagnostics["frames_failed"]) == 0, diagnostics
        assert float(diagnostics["latency_crf_mean_ms"]) > 0, diagnostics
        for msg in labels:
            assert (msg.header.stamp.sec, msg.header.stamp.nanosec) in sent
            assert msg.header.frame_id == "cam" and msg.encoding == "mono8"
            published = _labels(msg)
            agree_refined = (published == expected).mean()
            assert agree_refined > 0.99, agree_refined
            assert agree_refined > (published == unrefined).mean()
    finally:
        for subscription in subscriptions:
            node.destroy_subscription(subscription)
        node.destroy_publisher(publisher)
