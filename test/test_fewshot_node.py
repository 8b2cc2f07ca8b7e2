"""Few-shot classes in a real ``segmentation_node`` process: Car, which the bundled
few-shot base model never saw, is taught at run time from two CamVid frames through
``~/fewshot/sync``; frames streamed meanwhile keep being answered, later frames label
most car pixels with the new id, a sync sent on seeing the new class list is accepted,
a restart keeps the class, bad support folders (a duplicate class, a 10000x10000 mask,
a truncated JPEG) are refused in one line, removing the folder forgets the class, and a
damaged taught-state file is one WARN naming it while the node serves the base classes."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from node_classes import labels_and_classes
from PIL import Image as PILImage
from proc_status import status_bytes
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header, String
from std_srvs.srv import Trigger

from seg_perception.checkpoint import FEWSHOT_CHECKPOINT, load_checkpoint, save_checkpoint
from seg_perception.classes import CAMVID
from seg_perception.nodes.ros_image import array_to_image_msg
from seg_perception.samples import load_camvid_sample

if TYPE_CHECKING:
    from conftest import RosHarness

pytestmark = [
    pytest.mark.ros,
    pytest.mark.skipif(not FEWSHOT_CHECKPOINT.is_file(), reason="no bundled few-shot model"),
]

NAMESPACE = "fewshot"
CAR = CAMVID.names.index("Car")
SUPPORT_FRAMES = (1, 9)  # Seq05VD_f00030, f00270: the cars that teach the class
QUERY_FRAMES = (3, 6)  # f00090, f00180: more than 10000 car pixels each
STREAM_PERIOD_S = 0.1
LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)


class FewShotRig:
    """Streams the query frames into the node and records what comes back."""

    def __init__(self, ros: RosHarness, frames) -> None:
        self.ros, self.frames = ros, frames
        self.labels: list[tuple[float, Image]] = []
        self.class_lists: list[dict] = []
        node = ros.node
        prefix = f"/{NAMESPACE}/segmentation_node"
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.subscriptions = [
            node.create_subscription(
                Image,
                f"{prefix}/labels",
                lambda m: self.labels.append((time.monotonic(), m)),
                reliable,
            ),
            node.create_subscription(
                String,
                f"{prefix}/class_names",
                lambda m: self.class_lists.append(json.loads(m.data)),
                LATCHED,
            ),
        ]
        self.publisher = node.create_publisher(
            Image, f"/{NAMESPACE}/image", qos_profile_sensor_data
        )
        self.client = node.create_client(Trigger, f"{prefix}/fewshot/sync")
        self.sent = 0

    def stream_until(self, condition, timeout: float) -> bool:
        """Publish query frames every 0.1 s until ``condition()`` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            index = QUERY_FRAMES[self.sent % len(QUERY_FRAMES)]
            header = Header(stamp=Time(sec=index, nanosec=self.sent), frame_id="cam")
            self.publisher.publish(array_to_image_msg(self.frames[index][1], "rgb8", header))
            self.sent += 1
            if self.ros.spin_until(condition, STREAM_PERIOD_S):
                return True
        return condition()

    def sync(self) -> Trigger.Response:
        assert self.client.wait_for_service(timeout_sec=30.0), "no ~/fewshot/sync service"
        future = self.client.call_async(Trigger.Request())
        assert self.stream_until(future.done, 30.0), "~/fewshot/sync did not answer"
        return future.result()

    def taught(self) -> list[str]:
        return self.class_lists[-1]["taught"] if self.class_lists else None

    def car_scores(self, since: float, class_id: int) -> tuple[float, float]:
        """Over the labels received after ``since``: the share of the query frames' car
        pixels labelled ``class_id``, and the IoU of ``class_id`` with CamVid's Car."""
        hits = total = union = 0
        for received, msg in self.labels:
            if received < since:
                continue
            truth = self.frames[msg.header.stamp.sec][2]
            labels = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width)
            scored, car, taught = truth != 255, truth == CAR, labels == class_id
            hits += int((taught & car).sum())
            total += int(car.sum())
            union += int(((taught | car) & scored).sum())
        return (hits / total if total else 0.0), (hits / union if union else 0.0)

    def destroy(self) -> None:
        for subscription in self.subscriptions:
            self.ros.node.destroy_subscription(subscription)
        self.ros.node.destroy_publisher(self.publisher)
        self.ros.node.destroy_client(self.client)


def _write_support(folder: Path, frames, class_name: str, indices, class_id: int) -> None:
    (folder / class_name).mkdir(parents=True)
    for i in indices:
        stem, rgb, truth = frames[i]
        cv2.imwrite(str(folder / class_name / f"{stem}.png"), rgb[:, :, ::-1])
        cv2.imwrite(str(folder / class_name / f"{stem}_mask.png"), (truth == class_id) * 255)


def test_a_class_taught_at_run_time(ros: RosHarness, start_node, tmp_path: Path) -> None:
    frames = load_camvid_sample(10)
    support = tmp_path / "support"
    support.mkdir()
    args = (
        "-r", f"__ns:=/{NAMESPACE}",
        "-p", f"fewshot_support_dir:={support}",
        "-p", "inference_backend:=torch",
        "-p", "num_threads:=1",
    )  # fmt: skip
    rig = FewShotRig(ros, frames)
    try:
        process = start_node(*args, name="fewshot_node")
        served = rig.stream_until(lambda: len(rig.labels) >= 2 and rig.class_lists, 60.0)
        assert served, process.report(f"no labels or class list ({len(rig.labels)} labels)")
        base = [c["name"] for c in rig.class_lists[-1]["classes"]]
        assert "Car" not in base and rig.taught() == [], rig.class_lists[-1]
        new_id = len(base)
        assert rig.car_scores(0.0, new_id) == (0.0, 0.0)

        _write_support(support, frames, "Car", SUPPORT_FRAMES, CAR)
        asked = time.monotonic()
        response = rig.sync()
        assert response.success, response.message
        assert "teaching Car" in response.message
        taught = rig.stream_until(lambda: rig.taught() == ["Car"], 60.0)
        assert taught, process.report(f"class list never showed Car: {rig.class_lists[-1]}")
        again = rig.sync()  # sent on seeing the new list: the node is ready for it
        assert again.success and again.message == "classes unchanged", again.message
        learnt_at = time.monotonic()
        assert rig.stream_until(lambda: rig.labels[-1][0] > learnt_at + 1.0, 30.0)
        times = [t for t, _ in rig.labels if t >= asked - 1.0]
        longest_gap = max(np.diff(times)) if len(times) > 1 else float("inf")
        assert longest_gap < 5.0, f"labels stopped for {longest_gap:.1f} s during the sync"
        share, iou = rig.car_scores(learnt_at + 0.5, new_id)
        assert share > 0.4, f"only {share:.0%} of the car pixels got the taught class"
        assert iou > 0.15, f"taught class IoU with the cars {iou:.0%} (share {share:.0%})"
        colour = rig.class_lists[-1]["classes"][new_id]["color"]
        assert colour not in [c["color"] for c in rig.class_lists[-1]["classes"][:new_id]]

        bad = support / "Sky"
        _write_support(support, frames, "Sky", SUPPORT_FRAMES[:1], CAMVID.names.index("Sky"))
        refused = rig.sync()
        assert not refused.success and "class 'Sky' already exists" in refused.message
        assert "\n" not in refused.message and rig.taught() == ["Car"]
        shutil.rmtree(bad)

        # hostile support folders: refused in one line before any pixel is decoded
        stem = frames[SUPPORT_FRAMES[0]][0]
        _write_support(support, frames, "Bomb", SUPPORT_FRAMES[:1], CAR)
        PILImage.new("L", (10_000, 10_000)).save(support / "Bomb" / f"{stem}_mask.png")
        peak_before = status_bytes(process.process.pid, "VmHWM")
        asked = time.monotonic()
        bomb = rig.sync()
        answered_in = time.monotonic() - asked
        assert not bomb.success and "exceeds the pixel budget" in bomb.message, bomb.message
        assert answered_in < 1.0, f"the support bomb took {answered_in:.1f} s to refuse"
        assert status_bytes(process.process.pid, "VmHWM") - peak_before < 50 * 2**20, "memory rose"
        shutil.rmtree(support / "Bomb")
        _write_support(support, frames, "Cut", SUPPORT_FRAMES[:1], CAR)
        image = support / "Cut" / f"{stem}.png"
        jpeg = cv2.imencode(".jpg", cv2.imread(str(image)))[1].tobytes()
        image.unlink()
        image.with_suffix(".jpg").write_bytes(jpeg[: len(jpeg) * 6 // 10])
        cut = rig.sync()
        assert not cut.success and "truncated" in cut.message and "\n" not in cut.message
        shutil.rmtree(support / "Cut")
        assert rig.taught() == ["Car"]
        assert process.stop(timeout=30.0) == 0, process.report("no clean exit")
    finally:
        rig.destroy()

    rig = FewShotRig(ros, frames)  # a restart keeps the taught class
    try:
        process = start_node(*args, name="fewshot_node_restarted")
        restored = rig.stream_until(lambda: rig.taught() == ["Car"] and rig.labels, 60.0)
        assert restored, process.report(f"taught class lost on restart: {rig.class_lists}")
        shutil.rmtree(support / "Car")
        response = rig.sync()
        assert response.success and "forgetting Car" in response.message, response.message
        assert rig.stream_until(lambda: rig.taught() == [], 60.0), rig.class_lists[-1]
        assert process.stop(timeout=30.0) == 0, process.report("no clean exit")
    finally:
        rig.destroy()

    state = support / "taught_model.pt"  # damaged: one palette colour fewer than names
    payload = load_checkpoint(state)
    payload["palette"] = payload["palette"][:-1]
    save_checkpoint(state, payload)
    rig = FewShotRig(ros, frames)
    try:  # a long teach (5000 refinement steps) so that Ctrl-C comes in the middle of it
        process = start_node(
            *args, "-p", "fewshot_refine_steps:=5000", name="fewshot_node_bad_state"
        )
        serving = rig.stream_until(lambda: len(rig.labels) >= 2 and rig.class_lists, 60.0)
        assert serving, process.report("a bad state file stopped the node")
        assert rig.taught() == [], rig.class_lists[-1]
        warned = [
            line
            for line in process.log_text().splitlines()
            if "[WARN]" in line and "taught classes NOT restored" in line
        ]
        assert len(warned) == 1 and str(state) in warned[0], process.report("no WARN")
        assert "palette colours" in warned[0], warned[0]

        # stopped while teaching: the sync is cancelled and its thread joined before the
        # process exits (a thread left in torch aborted the process: exit -6)
        _write_support(support, frames, "Car", SUPPORT_FRAMES, CAR)
        state_before = state.read_bytes()
        response = rig.sync()
        assert response.success and "teaching Car" in response.message, response.message
        assert process.stop(timeout=30.0) == 0, process.report("no clean exit mid-teach")
        assert "few-shot sync cancelled" in process.log_text(), process.report("not cancelled")
        assert state.read_bytes() == state_before, "a cancelled teach changed the state file"
    finally:
        rig.destroy()


def test_a_checkpoint_taught_with_imprint_starts_the_node(
    ros: RosHarness, start_node, tmp_path: Path
) -> None:
    """The repository's parameter file keeps CamVid's 11 default classes; a checkpoint
    taught with ``imprint`` (9 classes) starts with its own classes, no ``class_names:=[]``."""
    from seg_perception.cli import main as cli_main

    frames = load_camvid_sample()
    _write_support(tmp_path / "support", frames, "Car", SUPPORT_FRAMES, CAR)
    taught = tmp_path / "taught.pt"
    argv = ["imprint", "--checkpoint", str(FEWSHOT_CHECKPOINT), "--support"]
    argv += [str(tmp_path / "support"), "--refine-steps", "0", "--out", str(taught)]
    assert cli_main(argv) == 0
    names = load_checkpoint(taught)["class_names"]
    assert len(names) == 9 and names[-1] == "Car"

    rgb = frames[QUERY_FRAMES[0]][1]
    _, class_list = labels_and_classes(ros, start_node, "imprinted", taught, rgb)
    assert [c["name"] for c in class_list["classes"]] == names
