"""``segmentation_node`` as a real process over Fast DDS: raw and compressed input,
rejected frames, diagnostics, parameter validation and namespaces.

The checkpoint is still being trained, so the outputs are checked for validity
(sizes, encodings, stamps, class ids, confidence range, overlay blending), never for
prediction quality. A frame is published only after the previous one's outputs arrived,
because the node keeps only the newest frame.
"""

from __future__ import annotations

import array
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time as TimeMsg
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node, NodeNameNonExistentError
from rclpy.publisher import Publisher
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

import seg_perception
from seg_perception.classes import CAMVID

if TYPE_CHECKING:
    from conftest import NodeLauncher, NodeUnderTest, RosHarness

pytestmark = pytest.mark.ros

STARTUP_TIMEOUT = 60.0
OUTPUT_TIMEOUT = 20.0
RESEND_AFTER = 5.0  # a best-effort frame may be lost; the node then gets it again
EXIT_TIMEOUT = 60.0  # the invalid starts run side by side on 2 cores
FRAME_ID = "cam_test"
IMAGE_TOPIC = "/cam/image_raw"
COMPRESSED_TOPIC = f"{IMAGE_TOPIC}/compressed"
NODE_NAME = "segmentation_node"
SAMPLE_IMAGE = (
    Path(seg_perception.__file__).parent / "samples" / "camvid" / "images" / "Seq05VD_f00000.jpg"
)
OVERLAY_ALPHA = 0.5  # config/segmentation.yaml
# output: (encoding, numpy dtype, channels)
OUTPUT_LAYOUTS = {
    "labels": ("mono8", np.dtype(np.uint8), 1),
    "overlay": ("rgb8", np.dtype(np.uint8), 3),
    "confidence": ("32FC1", np.dtype(np.float32), 1),
}
OUTPUT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
INPUT_QOS = {
    "reliable": QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE),
    "best_effort": qos_profile_sensor_data,
}

_stamp_counter = itertools.count(1)


def next_stamp() -> TimeMsg:
    """A stamp no other frame of this run carries."""
    n = next(_stamp_counter)
    return TimeMsg(sec=1_700_000_000 + n, nanosec=1_000 * n + 7)


def stamp_key(stamp: TimeMsg) -> tuple[int, int]:
    return stamp.sec, stamp.nanosec


def input_pixels(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """``rgb`` in the layout of ``encoding``."""
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    opaque = np.full(rgb.shape[:2], 255, np.uint8)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return {
        "rgb8": rgb,
        "bgr8": bgr,
        "rgba8": np.dstack([rgb, opaque]),
        "bgra8": np.dstack([bgr, opaque]),
        "mono8": gray,
        "mono16": gray.astype(np.uint16) * 257,  # the node keeps the high byte: gray again
    }[encoding]


def seen_rgb(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """What the node should see after converting ``input_pixels(rgb, encoding)`` to RGB."""
    if encoding.startswith("mono"):
        return cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return rgb


def image_msg(pixels: np.ndarray, encoding: str, row_padding: int = 0) -> Image:
    """A little-endian ``Image`` with a fresh stamp; ``row_padding`` bytes end each row."""
    height, width = pixels.shape[:2]
    little_endian = pixels.astype(pixels.dtype.newbyteorder("<"))
    rows = np.ascontiguousarray(little_endian).view(np.uint8).reshape(height, -1)
    rows = np.pad(rows, ((0, 0), (0, row_padding)))
    return raw_msg(width, height, encoding, rows.shape[1], rows.tobytes())


def raw_msg(width: int, height: int, encoding: str, step: int, data: bytes) -> Image:
    """An ``Image`` with a fresh stamp and exactly these fields, consistent or not."""
    return Image(
        header=Header(stamp=next_stamp(), frame_id=FRAME_ID),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=step,
        data=array.array("B", data),
    )


def compressed_msg(payload: bytes, image_format: str) -> CompressedImage:
    return CompressedImage(
        header=Header(stamp=next_stamp(), frame_id=FRAME_ID),
        format=image_format,
        data=array.array("B", payload),
    )


def encode(rgb: np.ndarray, extension: str) -> bytes:
    ok, buffer = cv2.imencode(extension, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok, f"cv2 cannot encode {extension}"
    return buffer.tobytes()


def output_pixels(msg: Image, name: str) -> np.ndarray:
    """The pixels of an output message, (H, W) or (H, W, 3)."""
    _, dtype, channels = OUTPUT_LAYOUTS[name]
    rows = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)
    row_bytes = msg.width * channels * dtype.itemsize
    byte_order = ">" if msg.is_bigendian else "<"
    pixels = rows[:, :row_bytes].copy().view(dtype.newbyteorder(byte_order))
    pixels = pixels.reshape(msg.height, msg.width, channels)
    return pixels if channels > 1 else pixels[:, :, 0]


def output_problems(
    outputs: dict[str, Image], header: Header, width: int, height: int, rgb: np.ndarray | None
) -> list[str]:
    """What is wrong with the outputs of one input frame (empty when nothing is).

    ``rgb``, when given, is the frame as the node sees it: the overlay must blend it with
    the palette colours of the labels.
    """
    problems = []
    for name, msg in outputs.items():
        encoding, dtype, channels = OUTPUT_LAYOUTS[name]
        if msg.header.frame_id != header.frame_id:
            problems.append(f"{name}: frame_id {msg.header.frame_id!r}")
        if stamp_key(msg.header.stamp) != stamp_key(header.stamp):
            problems.append(f"{name}: stamp {stamp_key(msg.header.stamp)}")
        if (msg.width, msg.height) != (width, height):
            problems.append(f"{name}: size {msg.width}x{msg.height}, input {width}x{height}")
        if msg.encoding != encoding:
            problems.append(f"{name}: encoding {msg.encoding!r}, expected {encoding!r}")
        if msg.step != width * channels * dtype.itemsize or len(msg.data) != msg.step * height:
            problems.append(f"{name}: step {msg.step} with {len(msg.data)} bytes")
    if problems:
        return problems
    labels = output_pixels(outputs["labels"], "labels")
    if labels.max() >= CAMVID.num_classes:
        problems.append(f"labels: class id {labels.max()} >= {CAMVID.num_classes}")
    confidence = output_pixels(outputs["confidence"], "confidence")
    if not np.isfinite(confidence).all():
        problems.append("confidence: non-finite values")
    elif confidence.min() <= 0.0 or confidence.max() > 1.0 + 1e-6:
        problems.append(f"confidence: range [{confidence.min()}, {confidence.max()}]")
    if rgb is not None:
        overlay = output_pixels(outputs["overlay"], "overlay").astype(np.int16)
        blended = (1 - OVERLAY_ALPHA) * rgb + OVERLAY_ALPHA * CAMVID.lookup_table()[labels]
        error = np.abs(overlay - blended).max()
        if error > 1.0:
            problems.append(f"overlay: differs from the alpha blend by up to {error}")
    return problems


class OutputCollector:
    """Receives one node's labels, overlay and confidence, keyed by input stamp."""

    def __init__(self, node: Node, node_fqn: str):
        self.frames: dict[tuple[int, int], dict[str, Image]] = defaultdict(dict)
        self._subscriptions = [
            node.create_subscription(
                Image, f"{node_fqn}/{name}", partial(self._store, name), OUTPUT_QOS
            )
            for name in OUTPUT_LAYOUTS
        ]

    def _store(self, name: str, msg: Image) -> None:
        self.frames[stamp_key(msg.header.stamp)][name] = msg

    def connected(self) -> bool:
        return all(s.get_publisher_count() > 0 for s in self._subscriptions)

    def outputs(self, stamp: TimeMsg) -> dict[str, Image]:
        return self.frames.get(stamp_key(stamp), {})

    def complete(self, stamp: TimeMsg) -> bool:
        return len(self.outputs(stamp)) == len(OUTPUT_LAYOUTS)

    def destroy(self, node: Node) -> None:
        for subscription in self._subscriptions:
            node.destroy_subscription(subscription)


class DiagnosticsMonitor:
    """The latest segmentation_node status on /diagnostics, per input topic."""

    def __init__(self, node: Node):
        self.statuses: dict[str, DiagnosticStatus] = {}
        self.subscription = node.create_subscription(
            DiagnosticArray, "/diagnostics", self._store, 10
        )

    def _store(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            node = status.name.split(": ")[0]  # the node's fully qualified name
            if node.rsplit("/", 1)[-1].startswith(NODE_NAME) and "input_topic" in values:
                self.statuses[values["input_topic"]] = status

    def values(self, input_topic: str) -> dict[str, str]:
        status = self.statuses.get(input_topic)
        return {kv.key: kv.value for kv in status.values} if status else {}

    def count(self, input_topic: str, key: str) -> int:
        """A counter of the node reading ``input_topic``; -1 before its first status."""
        return int(self.values(input_topic).get(key, -1))


@dataclass
class Rig:
    """A running node, publishers (reliable and best effort) to its input, its outputs."""

    ros: RosHarness
    process: NodeUnderTest
    input_topic: str
    publishers: dict[str, Publisher]
    outputs: OutputCollector

    def wait_ready(self) -> None:
        """Wait until the node subscribes the input and its outputs are matched."""

        def ready() -> bool:
            subscribed = all(p.get_subscription_count() > 0 for p in self.publishers.values())
            return subscribed and self.outputs.connected()

        self.ros.spin_until(lambda: ready() or not self.process.alive(), STARTUP_TIMEOUT)
        assert ready() and self.process.alive(), self.process.report(
            f"node not connected to {self.input_topic} within {STARTUP_TIMEOUT} s"
        )

    def send(
        self, msg: Image | CompressedImage, reliability: str = "reliable"
    ) -> dict[str, Image]:
        """Publish ``msg`` and return its three outputs, by output name."""
        deadline = time.monotonic() + OUTPUT_TIMEOUT
        while time.monotonic() < deadline:
            self.publishers[reliability].publish(msg)
            wait = min(RESEND_AFTER, deadline - time.monotonic())
            if self.ros.spin_until(lambda: self.outputs.complete(msg.header.stamp), wait):
                return self.outputs.outputs(msg.header.stamp)
        received = sorted(self.outputs.outputs(msg.header.stamp))
        raise AssertionError(
            self.process.report(
                f"outputs of frame {stamp_key(msg.header.stamp)} ({reliability}) not complete "
                f"after {OUTPUT_TIMEOUT} s; received {received}"
            )
        )

    def reject(self, msg: Image | CompressedImage, diagnostics: DiagnosticsMonitor) -> None:
        """Publish a bad ``msg`` and wait until /diagnostics counts it as rejected."""
        topic = self.input_topic
        reported = self.ros.spin_until(lambda: diagnostics.count(topic, "frames_rejected") >= 0)
        assert reported, self.process.report(f"no /diagnostics status for {topic}")
        before = diagnostics.count(topic, "frames_rejected")
        self.publishers["reliable"].publish(msg)
        counted = self.ros.spin_until(lambda: diagnostics.count(topic, "frames_rejected") > before)
        assert counted, self.process.report(
            f"frame {stamp_key(msg.header.stamp)} not counted as rejected; "
            f"diagnostics: {diagnostics.values(topic)}"
        )


@contextmanager
def open_rig(
    ros: RosHarness, process: NodeUnderTest, msg_type: type, input_topic: str, node_fqn: str
) -> Iterator[Rig]:
    """Connect the test node to a started node process; disconnect it afterwards."""
    publishers = {
        reliability: ros.node.create_publisher(msg_type, input_topic, qos)
        for reliability, qos in INPUT_QOS.items()
    }
    outputs = OutputCollector(ros.node, node_fqn)
    try:
        rig = Rig(ros, process, input_topic, publishers, outputs)
        rig.wait_ready()
        yield rig
    finally:
        outputs.destroy(ros.node)
        for publisher in publishers.values():
            ros.node.destroy_publisher(publisher)


@pytest.fixture(scope="module")
def camvid_rgb() -> np.ndarray:
    bgr = cv2.imread(str(SAMPLE_IMAGE))
    assert bgr is not None, f"cannot read {SAMPLE_IMAGE}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def diagnostics(ros: RosHarness) -> Iterator[DiagnosticsMonitor]:
    monitor = DiagnosticsMonitor(ros.node)
    yield monitor
    ros.node.destroy_subscription(monitor.subscription)


@pytest.fixture(scope="module")
def raw_rig(
    ros: RosHarness, node_launcher: NodeLauncher, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rig]:
    """One raw-input node for all the raw tests (start-up takes seconds)."""
    log_path = tmp_path_factory.mktemp("raw_node") / f"{NODE_NAME}.log"
    ros_args = ("-r", f"image:={IMAGE_TOPIC}", "-p", "diagnostics_period:=0.2")
    with (
        node_launcher.run(*ros_args, log_path=log_path) as process,
        open_rig(ros, process, Image, IMAGE_TOPIC, f"/{NODE_NAME}") as rig,
    ):
        yield rig


@pytest.fixture(scope="module")
def compressed_rig(
    ros: RosHarness, node_launcher: NodeLauncher, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rig]:
    """A compressed-input node, renamed so that it does not share the raw node's name."""
    name = f"{NODE_NAME}_compressed"
    log_path = tmp_path_factory.mktemp("compressed_node") / f"{name}.log"
    ros_args = (
        "-r",
        f"__node:={name}",
        "-r",
        f"image/compressed:={COMPRESSED_TOPIC}",
        "-p",
        "input_transport:=compressed",
        "-p",
        "diagnostics_period:=0.2",
    )
    with (
        node_launcher.run(*ros_args, log_path=log_path) as process,
        open_rig(ros, process, CompressedImage, COMPRESSED_TOPIC, f"/{name}") as rig,
    ):
        yield rig


RAW_CASES = [
    # encoding, publisher reliability, (width, height), row padding in bytes
    ("rgb8", "reliable", (320, 240), 0),
    ("bgr8", "best_effort", (320, 240), 16),
    ("rgba8", "reliable", (320, 240), 0),
    ("bgra8", "best_effort", (320, 240), 0),
    ("mono8", "reliable", (333, 211), 0),
    ("mono16", "best_effort", (480, 360), 0),  # the network's own size: no resize
]


@pytest.mark.parametrize(
    ("encoding", "reliability", "size", "row_padding"),
    RAW_CASES,
    ids=[f"{encoding}-{reliability}" for encoding, reliability, *_ in RAW_CASES],
)
def test_raw_frame_gives_valid_outputs(
    raw_rig: Rig,
    camvid_rgb: np.ndarray,
    encoding: str,
    reliability: str,
    size: tuple[int, int],
    row_padding: int,
) -> None:
    rgb = cv2.resize(camvid_rgb, size, interpolation=cv2.INTER_AREA)
    msg = image_msg(input_pixels(rgb, encoding), encoding, row_padding)
    outputs = raw_rig.send(msg, reliability)
    problems = output_problems(outputs, msg.header, *size, seen_rgb(rgb, encoding))
    assert not problems, raw_rig.process.report(f"{encoding}: {'; '.join(problems)}")


def bad_frames(rgb: np.ndarray) -> dict[str, Image]:
    """Malformed rgb8 ``Image`` messages, by what is wrong with them."""
    height, width = rgb.shape[:2]
    step, data = width * 3, rgb.tobytes()
    short_step = step - 3  # rows one pixel short
    return {
        "unknown encoding": raw_msg(width, height, "yuv422_weird", step, data),
        "step too small": raw_msg(width, height, "rgb8", short_step, data[: short_step * height]),
        "data longer than step*height": raw_msg(width, height, "rgb8", step, data + bytes(64)),
        "empty": raw_msg(0, 0, "rgb8", 0, b""),
        "truncated": raw_msg(width, height, "rgb8", step, data[: len(data) // 2]),
    }


def test_bad_frames_are_rejected_and_node_keeps_running(
    raw_rig: Rig, diagnostics: DiagnosticsMonitor, camvid_rgb: np.ndarray
) -> None:
    rgb = cv2.resize(camvid_rgb, (320, 240), interpolation=cv2.INTER_AREA)
    frames = bad_frames(rgb)
    for msg in frames.values():  # one at a time: a frame replaced while waiting is dropped
        raw_rig.reject(msg, diagnostics)

    good = image_msg(rgb, "rgb8")
    problems = output_problems(raw_rig.send(good), good.header, 320, 240, rgb)
    assert not problems, raw_rig.process.report("; ".join(problems))
    leaked = [
        reason for reason, msg in frames.items() if raw_rig.outputs.outputs(msg.header.stamp)
    ]
    assert not leaked, raw_rig.process.report(f"outputs published for bad frames: {leaked}")

    status = diagnostics.statuses[IMAGE_TOPIC]
    values = diagnostics.values(IMAGE_TOPIC)
    assert int(values["frames_rejected"]) >= len(frames), values
    assert int(values["frames_failed"]) == 0, raw_rig.process.report(f"failures: {values}")
    assert status.level == DiagnosticStatus.WARN, status
    assert raw_rig.process.alive(), raw_rig.process.report("node died after bad frames")
    assert "rejected frame" in raw_rig.process.log_text(), raw_rig.process.report("no warning")


def test_diagnostics_report_counters_and_latency(
    raw_rig: Rig, diagnostics: DiagnosticsMonitor, camvid_rgb: np.ndarray
) -> None:
    raw_rig.send(image_msg(cv2.resize(camvid_rgb, (320, 240)), "rgb8"))
    processed = raw_rig.ros.spin_until(
        lambda: diagnostics.count(IMAGE_TOPIC, "frames_processed") >= 1
    )
    values = diagnostics.values(IMAGE_TOPIC)
    assert processed, raw_rig.process.report(f"no processed frame in /diagnostics: {values}")
    outcomes = ("processed", "dropped", "rejected", "failed")
    received = int(values["frames_received"])
    # a frame still waiting for the worker is received but has no outcome yet: in progress
    outcomes += ("in_progress",)
    assert received == sum(int(values[f"frames_{outcome}"]) for outcome in outcomes), values
    assert float(values["fps"]) >= 0.0
    latencies = {key: float(v) for key, v in values.items() if key.startswith("latency_")}
    assert "latency_total_mean_ms" in latencies, sorted(values)
    assert all(v >= 0.0 for v in latencies.values()), latencies
    assert diagnostics.statuses[IMAGE_TOPIC].name.startswith(f"/{NODE_NAME}: ")


@pytest.mark.parametrize(
    ("image_format", "extension", "size", "reliability"),
    [("jpeg", ".jpg", (400, 300), "reliable"), ("png", ".png", (256, 192), "best_effort")],
    ids=["jpeg-reliable", "png-best_effort"],
)
def test_compressed_frame_gives_valid_outputs(
    compressed_rig: Rig,
    camvid_rgb: np.ndarray,
    image_format: str,
    extension: str,
    size: tuple[int, int],
    reliability: str,
) -> None:
    rgb = cv2.resize(camvid_rgb, size, interpolation=cv2.INTER_AREA)
    msg = compressed_msg(encode(rgb, extension), image_format)
    outputs = compressed_rig.send(msg, reliability)
    seen = rgb if image_format == "png" else None  # JPEG is lossy: no blend reference
    problems = output_problems(outputs, msg.header, *size, seen)
    assert not problems, compressed_rig.process.report(f"{image_format}: {'; '.join(problems)}")


def test_undecodable_compressed_frame_is_rejected(
    compressed_rig: Rig, diagnostics: DiagnosticsMonitor, camvid_rgb: np.ndarray
) -> None:
    garbage = compressed_msg(np.random.default_rng(0).bytes(4096), "jpeg")
    compressed_rig.reject(garbage, diagnostics)
    good = compressed_msg(encode(camvid_rgb, ".jpg"), "jpeg")
    problems = output_problems(compressed_rig.send(good), good.header, 480, 360, None)
    assert not problems, compressed_rig.process.report("; ".join(problems))
    assert not compressed_rig.outputs.outputs(garbage.header.stamp)
    assert compressed_rig.process.alive(), compressed_rig.process.report("node died")


def publisher_topics(node: Node, name: str, namespace: str) -> set[str]:
    """Topics published by the node ``namespace/name``, as discovered so far."""
    try:
        return {topic for topic, _ in node.get_publisher_names_and_types_by_node(name, namespace)}
    except NodeNameNonExistentError:  # not discovered yet
        return set()


def test_namespace_applies_to_relative_and_private_names(
    ros: RosHarness, start_node: Callable[..., NodeUnderTest], camvid_rgb: np.ndarray
) -> None:
    process = start_node("-r", "__ns:=/robot1", name=f"{NODE_NAME}_robot1")
    rgb = cv2.resize(camvid_rgb, (320, 240), interpolation=cv2.INTER_AREA)
    with open_rig(ros, process, Image, "/robot1/image", f"/robot1/{NODE_NAME}") as rig:
        msg = image_msg(rgb, "rgb8")
        problems = output_problems(rig.send(msg), msg.header, 320, 240, rgb)
        assert not problems, process.report("; ".join(problems))
    expected = {f"/robot1/{NODE_NAME}/{name}" for name in (*OUTPUT_LAYOUTS, "class_names")}
    expected.add("/diagnostics")
    found = ros.spin_until(lambda: expected <= publisher_topics(ros.node, NODE_NAME, "/robot1"))
    topics = publisher_topics(ros.node, NODE_NAME, "/robot1")
    assert found, process.report(f"/robot1/{NODE_NAME} publishes {sorted(topics)}")


def test_outputs_are_computed_only_while_subscribed(
    ros: RosHarness,
    start_node: Callable[..., NodeUnderTest],
    diagnostics: DiagnosticsMonitor,
    camvid_rgb: np.ndarray,
) -> None:
    """Lazy outputs: with only ~/labels subscribed the overlay stage never runs; it runs
    from the first frame after a subscriber appears and stops once it has left."""
    process = start_node("-r", "__ns:=/lazy", "-p", "diagnostics_period:=0.2", name="lazy_node")
    topic, prefix = "/lazy/image", f"/lazy/{NODE_NAME}"
    frame = cv2.resize(camvid_rgb, (160, 120), interpolation=cv2.INTER_AREA)
    received: dict[str, list[Image]] = {"labels": [], "overlay": []}
    labels = ros.node.create_subscription(
        Image, f"{prefix}/labels", received["labels"].append, OUTPUT_QOS
    )
    publisher = ros.node.create_publisher(Image, topic, INPUT_QOS["reliable"])
    overlay = None

    def stream_until(condition: Callable[[], bool], timeout: float = STARTUP_TIMEOUT) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.alive():
            publisher.publish(image_msg(frame, "rgb8"))
            if ros.spin_until(condition, 0.3):
                return True
        return False

    def status() -> dict[str, str]:
        return diagnostics.values(topic)

    try:
        ready = stream_until(lambda: received["labels"] and status().get("live_outputs"))
        assert ready, process.report(f"no labels or diagnostics from {prefix}")
        assert status()["live_outputs"] == "labels", status()
        assert status()["stage_runs (overlay)"] == "0", status()

        overlay = ros.node.create_subscription(
            Image, f"{prefix}/overlay", received["overlay"].append, OUTPUT_QOS
        )
        assert stream_until(lambda: received["overlay"]), process.report("no overlay")
        # a status may be taken while a frame runs: live_outputs is set as a frame starts,
        # stage_runs counted as it ends
        ran = stream_until(lambda: int(status()["stage_runs (overlay)"]) >= 1, OUTPUT_TIMEOUT)
        assert ran and "overlay" in status()["live_outputs"], status()

        ros.node.destroy_subscription(overlay)
        overlay = None
        left = stream_until(lambda: status()["live_outputs"] == "labels", OUTPUT_TIMEOUT)
        assert left, process.report(f"the overlay still live: {status()}")
        # frames run one at a time: every frame that started before the one this status
        # shows starting without the overlay has ended, and is counted
        runs, processed = status()["stage_runs (overlay)"], int(status()["frames_processed"])
        more = stream_until(lambda: int(status()["frames_processed"]) >= processed + 3)
        assert more, process.report("no more frames processed")
        assert status()["stage_runs (overlay)"] == runs, status()
    finally:
        if overlay is not None:
            ros.node.destroy_subscription(overlay)
        ros.node.destroy_subscription(labels)
        ros.node.destroy_publisher(publisher)


INVALID_STARTS = {
    # case: (ros arguments, text the 'cannot start' line must contain)
    "input_width_out_of_range": (("-p", "input_width:=5"), "input_width"),
    "unknown_qos_reliability": (("-p", "qos_reliability:=sometimes"), "qos_reliability"),
    "palette_of_wrong_length": (("-p", "palette:=[1,2,3]"), "palette"),
    "class_names_differ_from_checkpoint": (
        ("-p", "class_names:=[road,car,sky]", "-p", "palette:=[1,2,3,4,5,6,7,8,9]"),
        "checkpoint",
    ),
    "unknown_flow_preset": (("-p", "use_flow:=true", "-p", "flow_preset:=slow"), "flow_preset"),
    "motion_checkpoint_not_two_stream": (
        (
            "-p",
            "use_flow:=true",
            "-p",
            f"motion_checkpoint:={SAMPLE_IMAGE.parents[3] / 'checkpoints' / 'lraspp_camvid.pt'}",
        ),
        "not a two-stream model",
    ),
    "overlay_alpha_nan": (("-p", "overlay_alpha:=.nan"), "overlay_alpha"),
    "warn_throttle_infinite": (("-p", "warn_throttle_sec:=.inf"), "warn_throttle_sec"),
    "params_file_missing": (("--params-file", "/nonexistent/segmentation.yaml"), "not found"),
    "params_file_not_parameters": (
        ("--params-file", str(SAMPLE_IMAGE.parents[4] / "README.md")),
        "params file",
    ),
}


@pytest.fixture(scope="module")
def invalid_starts(
    node_launcher: NodeLauncher, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[NodeUnderTest, int | None]]]:
    """Every invalid start, side by side: case -> (process, exit code or None if running)."""
    log_dir = tmp_path_factory.mktemp("invalid_starts")
    with ExitStack() as stack:
        processes = {
            case: stack.enter_context(node_launcher.run(*args, log_path=log_dir / f"{case}.log"))
            for case, (args, _) in INVALID_STARTS.items()
        }
        deadline = time.monotonic() + EXIT_TIMEOUT
        yield {
            case: (process, process.wait_exit(max(0.0, deadline - time.monotonic())))
            for case, process in processes.items()
        }


@pytest.mark.parametrize("case", list(INVALID_STARTS))
def test_invalid_parameters_refuse_to_start(
    invalid_starts: dict[str, tuple[NodeUnderTest, int | None]], case: str
) -> None:
    process, exit_code = invalid_starts[case]
    assert exit_code is not None, process.report(f"still running after {EXIT_TIMEOUT} s")
    assert exit_code != 0, process.report("exit code 0")
    log = process.log_text()
    refusals = [line for line in log.splitlines() if "cannot start" in line]
    assert refusals, process.report("no 'cannot start' line")
    assert INVALID_STARTS[case][1] in refusals[0], process.report("refusal names another cause")
    assert "Traceback" not in log, process.report("crashed instead of refusing cleanly")
