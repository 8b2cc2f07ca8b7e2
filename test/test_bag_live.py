"""``bag-play`` -> ``segmentation_node`` -> ``bag-record``, three processes over real DDS.

A ROS 1 bag of a few small frames is played (converted to ROS 2 CDR on the way) into
a node process; ``bag-record`` writes the node's outputs to MCAP. The recorded bag
must hold labels, overlay and confidence stamped like the played frames, with the
message definitions embedded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from seg_perception.bags.bag_make import IMAGE_TOPIC, make_bag
from seg_perception.bags.bag_reader import BagReader
from seg_perception.bags.image_messages import IMAGE_TYPE, Stamp, UnsupportedImageError
from seg_perception.data.camvid import read_rgb
from seg_perception.nodes.message_types import message_class
from seg_perception.samples import CAMVID_SAMPLE

if TYPE_CHECKING:
    from conftest import NodeUnderTest, RosHarness

pytestmark = pytest.mark.ros

FRAMES = 6
SIZE = (320, 240)
BAG_RATE = 5.0  # Hz of the stamps; played at half speed: 0.4 s between frames
PLAY_RATE = 0.5
NODE = "/segmentation_node"
OUTPUTS = {"labels": "mono8", "overlay": "rgb8", "confidence": "32FC1"}
STARTUP_TIMEOUT = 60.0
PLAY_TIMEOUT = 90.0
SETTLE_TIMEOUT = 15.0


@pytest.fixture(scope="module")
def ros1_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("live_frames")
    for path in sorted((CAMVID_SAMPLE / "images").glob("*.jpg"))[:FRAMES]:
        rgb = cv2.resize(read_rgb(path), SIZE, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"{path.stem}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    bag = folder.parent / "camera.bag"
    make_bag(folder, bag, BAG_RATE, start_time=1_700_000_000.0, progress=False)
    return bag


@contextmanager
def verb_process(env: dict[str, str], log_path: Path, *argv: str) -> Iterator[subprocess.Popen]:
    """``seg-perception <argv>`` in its own process group; killed if still running at the end."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "seg_perception", *argv],
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_play_into_node_and_record_its_outputs(
    ros: RosHarness,
    start_node: Callable[..., NodeUnderTest],
    ros1_bag: Path,
    tmp_path: Path,
) -> None:
    node = start_node("-r", f"image:={IMAGE_TOPIC}", "-p", "num_threads:=1")
    recorded = tmp_path / "outputs.mcap"
    topics = [f"{NODE}/{name}" for name in OUTPUTS]
    with verb_process(
        ros.env, tmp_path / "record.log", "bag-record", "--topics", *topics, "--out", str(recorded)
    ) as recorder:

        def recorder_log() -> str:
            return (tmp_path / "record.log").read_text(errors="replace")[-3000:]

        # the recorder subscribes each output once the node publishes it
        ready = ros.spin_until(
            lambda: (
                all(ros.node.count_subscribers(t) > 0 for t in topics)
                or recorder.poll() is not None
                or not node.alive()
            ),
            STARTUP_TIMEOUT,
        )
        assert ready and recorder.poll() is None, f"recorder not subscribed:\n{recorder_log()}"
        assert node.alive(), node.report("node died at start-up")

        labels_seen: set[tuple[int, int]] = set()
        watcher = ros.node.create_subscription(
            Image,
            f"{NODE}/labels",
            lambda msg: labels_seen.add((msg.header.stamp.sec, msg.header.stamp.nanosec)),
            QoSProfile(depth=FRAMES, reliability=ReliabilityPolicy.RELIABLE),
        )
        try:
            play_args = ["bag-play", "--bag", str(ros1_bag), "--topics", IMAGE_TOPIC]
            play_args += ["--rate", str(PLAY_RATE), "--delay", "2", "--wait-for-subscribers"]
            with verb_process(ros.env, tmp_path / "play.log", *play_args) as player:
                finished = ros.spin_until(lambda: player.poll() is not None, PLAY_TIMEOUT)
                play_log = (tmp_path / "play.log").read_text(errors="replace")[-3000:]
                assert finished and player.returncode == 0, f"bag-play failed:\n{play_log}"
                assert f"published {FRAMES} messages" in play_log, play_log
            last = Stamp.from_ns(1_700_000_000 * 10**9 + round((FRAMES - 1) * 1e9 / BAG_RATE))
            ros.spin_until(lambda: (last.sec, last.nanosec) in labels_seen, SETTLE_TIMEOUT)
            ros.spin_until(lambda: False, 1.0)  # the recorder's copies arrive as well
        finally:
            ros.node.destroy_subscription(watcher)
        os.killpg(recorder.pid, signal.SIGINT)  # Ctrl-C: the normal end of a recording
        assert recorder.wait(timeout=30) == 0, recorder_log()
    assert recorded.is_file(), recorder_log()

    with BagReader(ros1_bag) as bag:
        played = {Stamp.of(bag.deserialize(m)) for m in bag.messages()}
    with BagReader(recorded) as bag:
        assert set(bag.topics()) == set(topics), bag.topics()
        definitions = {c.topic: c.msgdef.data for c in bag.reader.connections}
        assert all(d.startswith("std_msgs/Header header") for d in definitions.values())
        by_output: dict[str, set[Stamp]] = {name: set() for name in OUTPUTS}
        for message in bag.messages():
            msg = bag.deserialize(message)
            name = message.topic.rsplit("/", 1)[1]
            assert message.msgtype == IMAGE_TYPE
            assert msg.encoding == OUTPUTS[name] and (msg.width, msg.height) == SIZE
            assert msg.header.frame_id == "camera"
            by_output[name].add(Stamp.of(msg))
    complete = set.intersection(*by_output.values())
    assert all(stamps <= played for stamps in by_output.values()), (by_output, played)
    # the node drops frames that go stale while it is busy; at 2.5 Hz it keeps up
    assert len(complete) >= FRAMES // 2, node.report(f"complete outputs for {len(complete)}")
    assert node.alive(), node.report("node died")


def test_message_classes_come_from_type_names() -> None:
    assert message_class(IMAGE_TYPE) is Image
    for name in ("nope_msgs/msg/Thing", "sensor_msgs/msg/Nope", "sensor_msgs/srv/Image", "x"):
        with pytest.raises(UnsupportedImageError, match="unsupported message type"):
            message_class(name)


def test_record_with_no_publisher_exits_non_zero(ros: RosHarness, tmp_path: Path) -> None:
    out = tmp_path / "empty.mcap"
    with verb_process(
        ros.env,
        tmp_path / "record.log",
        "bag-record",
        "--topics",
        "/nobody/publishes",
        "--out",
        str(out),
        "--duration",
        "2",
    ) as recorder:
        assert recorder.wait(timeout=60) == 2
    log = (tmp_path / "record.log").read_text()
    assert "error: nothing was recorded on /nobody/publishes" in log
    assert log.rstrip().splitlines()[-1].startswith("seg-perception bag-record: error:")


def test_records_the_last_message_of_a_latched_topic(ros: RosHarness, tmp_path: Path) -> None:
    """A transient-local topic (like ``~/class_names``) published before the recording
    starts is recorded: the recorder subscribes with the durability it is offered."""
    from rclpy.qos import DurabilityPolicy
    from std_msgs.msg import String

    latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    publisher = ros.node.create_publisher(String, "/latched/class_names", latched)
    publisher.publish(String(data='{"classes": []}'))
    out = tmp_path / "latched.mcap"
    try:
        with verb_process(
            ros.env, tmp_path / "record.log", "bag-record", "--topics", "/latched/class_names",
            "--out", str(out), "--duration", "4",
        ) as recorder:  # fmt: skip
            code = recorder.wait(timeout=60)
    finally:
        ros.node.destroy_publisher(publisher)
    log = (tmp_path / "record.log").read_text()
    assert code == 0, log[-2000:]
    with BagReader(out) as bag:
        assert [bag.deserialize(m).data for m in bag.messages()] == ['{"classes": []}']


def test_play_with_no_subscriber_says_so(ros: RosHarness, ros1_bag: Path, tmp_path: Path) -> None:
    args = ["bag-play", "--bag", str(ros1_bag), "--wait-timeout", "1", "--delay", "0"]
    args += ["--rate", "20"]
    with verb_process(ros.env, tmp_path / "play.log", *args) as player:
        assert player.wait(timeout=60) == 0
    log = (tmp_path / "play.log").read_text()
    assert f"warning: no subscriber on {IMAGE_TOPIC} after 1 s" in log
    assert f"with no subscriber: {IMAGE_TOPIC}" in log


def test_bag_info_lists_topics(ros1_bag: Path, tmp_path: Path) -> None:
    import json

    from seg_perception.cli import main as cli_main

    report = tmp_path / "info.json"
    assert cli_main(["bag-info", "--bag", str(ros1_bag), "--json", str(report)]) == 0
    info = json.loads(report.read_text())
    assert info["format"] == "ROS 1" and info["messages"] == FRAMES
    entry = info["topics"][IMAGE_TOPIC]
    assert entry["count"] == FRAMES and entry["sizes"] == ["320x240"]
    assert info["duration_s"] == pytest.approx((FRAMES - 1) / BAG_RATE)


@pytest.fixture(scope="module")
def large_frames_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four 1920x1440 rgb8 frames: publishing dominates the player's time."""
    folder = tmp_path_factory.mktemp("large_frames")
    for path in sorted((CAMVID_SAMPLE / "images").glob("*.jpg"))[:4]:
        rgb = cv2.resize(read_rgb(path), (1920, 1440), interpolation=cv2.INTER_LINEAR)
        cv2.imwrite(str(folder / f"{path.stem}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    bag = folder.parent / "large.mcap"
    make_bag(folder, bag, BAG_RATE, start_time=1_700_000_000.0, progress=False)
    return bag


def test_looping_play_stops_cleanly_on_ctrl_c(
    ros: RosHarness, large_frames_bag: Path, tmp_path: Path
) -> None:
    received: list[Image] = []
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    subscription = ros.node.create_subscription(Image, IMAGE_TOPIC, received.append, reliable)
    args = ["bag-play", "--bag", str(large_frames_bag), "--loop", "--rate", "1000"]
    log_path = tmp_path / "play.log"
    try:
        with verb_process(ros.env, log_path, *args, "--delay", "0") as player:
            # several passes, so that Ctrl-C lands in the middle of publishing
            looped = ros.spin_until(lambda: len(received) > 10, PLAY_TIMEOUT)
            assert looped, log_path.read_text()[-2000:]
            os.killpg(player.pid, signal.SIGINT)
            code = player.wait(timeout=30)
    finally:
        ros.node.destroy_subscription(subscription)
    log = log_path.read_text()
    assert code == 0 and "Traceback" not in log, log[-3000:]
    assert f"messages on {IMAGE_TOPIC}" in log.splitlines()[-1]
