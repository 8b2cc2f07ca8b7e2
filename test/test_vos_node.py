"""The video object mode in a real ``segmentation_node`` process: a DAVIS sequence the
bundled parent never saw (camel, fold b) is streamed in, bad init masks are refused in
one line with the node serving on, the first frame's true mask is sent on
``~/vos/init``, labels keep flowing while the target is learnt, later frames come back
on ``~/vos/mask`` overlapping the truth, and ``~/vos/reset`` returns to idle."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from proc_status import proc_status, status_bytes
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger

from seg_perception.checkpoint import VOS_PARENT_CHECKPOINTS
from seg_perception.data.davis import load_sequence
from seg_perception.evaluation.vos_metrics import region_j
from seg_perception.nodes.ros_image import array_to_image_msg

if TYPE_CHECKING:
    from conftest import RosHarness

pytestmark = [
    pytest.mark.ros,
    pytest.mark.skipif(not VOS_PARENT_CHECKPOINTS[0].is_file(), reason="no bundled VOS parent"),
]

NAMESPACE = "vos"
SEQUENCE = "camel"  # fold b: the bundled parent (fold a) never saw it
FRAMES = 12
SIZE = (432, 240)
STREAM_PERIOD_S = 0.2
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
BURST, BURST_PERIOD_S = 20, 0.1  # 20 inits in 2 s
BURST_RSS_MARGIN = 150 * 2**20  # bytes: +14 MB measured; +393 MB when each init had a thread


def process_threads_and_rss(pid: int) -> tuple[int, int]:
    """Threads and resident bytes of process ``pid``."""
    return int(proc_status(pid)["Threads"]), status_bytes(pid, "VmRSS")


def _stamp(index: int, lap: int) -> Time:
    return Time(sec=1000 + lap, nanosec=index * 1000)


class VOSRig:
    """Streams the sequence into the node (looping) and records what comes back."""

    def __init__(self, ros: RosHarness, frames: list[tuple[np.ndarray, np.ndarray]]):
        self.ros, self.frames = ros, frames
        self.labels: list[tuple[float, Image]] = []
        self.masks: list[tuple[float, Image]] = []
        self.status: dict[str, str] = {}
        node = ros.node
        prefix = f"/{NAMESPACE}/segmentation_node"
        self.subscriptions = [
            node.create_subscription(
                Image,
                f"{prefix}/labels",
                lambda m: self.labels.append((time.monotonic(), m)),
                RELIABLE,
            ),
            node.create_subscription(
                Image,
                f"{prefix}/vos/mask",
                lambda m: self.masks.append((time.monotonic(), m)),
                RELIABLE,
            ),
            node.create_subscription(DiagnosticArray, "/diagnostics", self._diagnostics, 10),
        ]
        self.publisher = node.create_publisher(
            Image, f"/{NAMESPACE}/image", qos_profile_sensor_data
        )
        self.init = node.create_publisher(Image, f"{prefix}/vos/init", RELIABLE)
        self.reset = node.create_client(Trigger, f"{prefix}/vos/reset")
        self.sent = 0

    def _diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith(f"/{NAMESPACE}/segmentation_node: "):
                self.status = {kv.key: kv.value for kv in status.values}

    def stream_until(self, condition, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            index, lap = self.sent % len(self.frames), self.sent // len(self.frames)
            header = Header(stamp=_stamp(index, lap), frame_id="davis")
            self.publisher.publish(array_to_image_msg(self.frames[index][0], "rgb8", header))
            self.sent += 1
            if self.ros.spin_until(condition, STREAM_PERIOD_S):
                return True
        return condition()

    def send_init(self, mask: np.ndarray, stamp: Time, encoding: str = "mono8") -> None:
        self.init.publish(
            array_to_image_msg(mask, encoding, Header(stamp=stamp, frame_id="davis"))
        )

    def mask_iou(self, since: float) -> list[float]:
        scores = []
        for received, msg in self.masks:
            if received < since:
                continue
            index = msg.header.stamp.nanosec // 1000
            mask = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width)
            scores.append(region_j(mask > 0, self.frames[index][1]))
        return scores

    def destroy(self) -> None:
        for subscription in self.subscriptions:
            self.ros.node.destroy_subscription(subscription)
        self.ros.node.destroy_publisher(self.publisher)
        self.ros.node.destroy_publisher(self.init)
        self.ros.node.destroy_client(self.reset)


def test_a_target_is_learnt_and_tracked(ros: RosHarness, start_node, davis_root) -> None:
    sequence = load_sequence(davis_root, SEQUENCE)
    frames = [
        (
            cv2.resize(sequence.frame(i), SIZE, interpolation=cv2.INTER_AREA),
            cv2.resize(sequence.mask(i).astype(np.uint8), SIZE, interpolation=cv2.INTER_NEAREST)
            > 0,
        )
        for i in range(FRAMES)
    ]
    args = (
        "-r", f"__ns:=/{NAMESPACE}",
        "-p", "vos:=true",
        "-p", "vos_finetune_steps:=40",
        "-p", "num_threads:=1",
        "-p", "diagnostics_period:=0.5",
        "-p", f"input_width:={SIZE[0]}", "-p", f"input_height:={SIZE[1]}",
    )  # fmt: skip
    rig = VOSRig(ros, frames)
    try:
        process = start_node(*args, name="vos_node")
        served = rig.stream_until(
            lambda: any(m.header.stamp.nanosec == 0 for _, m in rig.labels) and rig.status, 90.0
        )
        assert served, process.report(f"frame 0 never answered ({len(rig.labels)} labels)")
        first = next(m.header.stamp for _, m in rig.labels if m.header.stamp.nanosec == 0)
        assert rig.status.get("vos_state") == "idle", rig.status
        truth = frames[0][1].astype(np.uint8) * 255

        bad_inits = [
            (np.zeros_like(truth), first, "mono8", "empty"),
            (np.full_like(truth, 255), first, "mono8", "whole frame"),
            (truth[:100], first, "mono8", "the mask is 432x100"),
            (truth, Time(sec=7, nanosec=0), "mono8", "no recent frame has stamp 7.000000000"),
            (np.dstack([truth] * 3), first, "rgb8", "unsupported encoding 'rgb8'"),
        ]
        for mask, stamp, encoding, reason in bad_inits:
            rig.send_init(mask, stamp, encoding)
            refused = rig.stream_until(
                lambda r=reason: r in rig.status.get("vos_last_error", ""), 30.0
            )
            assert refused, f"{reason!r} not reported: {rig.status}"
            assert rig.status["vos_state"] == "idle" and "\n" not in rig.status["vos_last_error"]

        rig.send_init(truth, first)
        asked = time.monotonic()
        learning = rig.stream_until(
            lambda: rig.status.get("vos_state", "").startswith("fine-tuning"), 30.0
        )
        assert learning, rig.status
        tracking = rig.stream_until(lambda: len(rig.mask_iou(asked)) >= 8, 300.0)
        assert tracking, process.report(f"no target masks: {rig.status}")
        first_mask = min(t for t, _ in rig.masks)
        during = [t for t, _ in rig.labels if asked <= t <= first_mask]
        times = [asked, *during, first_mask]
        assert max(np.diff(times)) < 10.0, (
            f"labels stopped while learning the target ({len(during)})"
        )
        scores = rig.mask_iou(asked)
        assert np.mean(scores) > 0.5, f"target mask IoU {np.round(scores, 2)} (camel covers ~15 %)"
        for _, msg in rig.masks:
            assert (msg.width, msg.height, msg.encoding) == (*SIZE, "mono8")
            assert msg.header.frame_id == "davis"
        assert rig.status["vos_state"] == "tracking" and "vos_finetune_seconds" in rig.status
        assert float(rig.status["latency_vos_mean_ms"]) > 0

        latest = rig.labels[-1][1].header.stamp  # still in the node's frame buffer
        rig.send_init(np.zeros_like(truth), latest)  # a bad init keeps the target
        assert rig.stream_until(lambda: "empty" in rig.status.get("vos_last_error", ""), 30.0)
        count = len(rig.masks)
        assert rig.stream_until(lambda: len(rig.masks) > count + 2, 60.0), rig.status

        # a burst of inits: one fine-tuning at a time, memory back near where it was
        inits = int(rig.status["vos_inits"])
        threads_before, rss_before = process_threads_and_rss(process.process.pid)
        most_threads = threads_before
        for _ in range(BURST):
            rig.send_init(truth, latest)
            rig.stream_until(lambda: False, BURST_PERIOD_S)
            most_threads = max(most_threads, process_threads_and_rss(process.process.pid)[0])
        learnt = rig.stream_until(
            lambda: (
                rig.status.get("vos_inits") == str(inits + BURST)
                and rig.status.get("vos_state") == "tracking"
            ),
            300.0,
        )
        assert learnt, process.report(f"the burst never settled: {rig.status}")
        _, rss_after = process_threads_and_rss(process.process.pid)
        assert most_threads - threads_before <= 1, (threads_before, most_threads)
        assert rss_after - rss_before < BURST_RSS_MARGIN, (rss_before, rss_after)

        assert rig.reset.wait_for_service(timeout_sec=30.0), "no ~/vos/reset service"
        future = rig.reset.call_async(Trigger.Request())
        assert rig.stream_until(future.done, 30.0) and future.result().success
        assert rig.stream_until(lambda: rig.status.get("vos_state") == "idle", 30.0), rig.status
        settled = len(rig.masks)
        labelled = len(rig.labels)
        rig.stream_until(lambda: len(rig.labels) > labelled + 3, 30.0)
        assert len(rig.masks) <= settled + 1, "masks still published after the reset"
        assert process.stop(timeout=30.0) == 0, process.report("no clean exit")
    finally:
        rig.destroy()


def test_demo_vos_tracks_and_leaves_a_strip(davis_root, tmp_path) -> None:
    import json
    import subprocess
    import sys

    argv = ["demo", "--vos", "--frames", "6", "--vos-finetune-steps", "30"]
    argv += ["--data-root", str(davis_root), "--out-dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "seg_perception", *argv],
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((tmp_path / "vos" / "summary.json").read_text())
    assert summary["sequence"] == "camel" and summary["j_mean"] > 0.5, summary
    assert summary["labels_while_learning"] > 0, summary
    strip = cv2.imread(str(tmp_path / "vos" / "vos_strip.png"))
    assert strip.shape == (240, 5 * 432, 3)
