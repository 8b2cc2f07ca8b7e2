"""The launch files under the real launch runtime, for each ROS 2 release's launch packages.

Each case builds nothing itself: the session's colcon build is the installed package
(``AMENT_PREFIX_PATH``), ``ros2 launch``'s ``LaunchService`` runs the launch file with
the case's arguments in its own process, this process feeds camera frames on the
remapped topic and waits for the outputs on the namespaced topics, then stops the launch
with SIGINT and checks that every process finished cleanly.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from headless_browser import free_port
from launch_support import LaunchRelease, LaunchRun, launch_env, launch_releases

from seg_perception.classes import CAMVID
from seg_perception.rviz_config import display_topics
from seg_perception.samples import load_camvid_sample

pytestmark = [pytest.mark.ros, pytest.mark.slow]

RELEASES, SKIP_REASON = launch_releases()
LAUNCH_DIR = Path(__file__).resolve().parents[1] / "launch"
OUTPUT_TIMEOUT = 60.0


@pytest.fixture(params=RELEASES or [None], ids=lambda r: r.name if r else "none")
def release(request) -> LaunchRelease:
    if request.param is None:
        pytest.skip(SKIP_REASON)
    return request.param


@pytest.fixture(scope="module")
def camera_rgb() -> np.ndarray:
    _, rgb, _ = load_camvid_sample(limit=1)[0]
    return cv2.resize(rgb, (320, 240), interpolation=cv2.INTER_AREA)


@pytest.fixture
def start_launch(ros, colcon_install, release, tmp_path):
    """Factory: ``start_launch(file, **arguments)``; each launch is stopped afterwards and
    must have shut down cleanly."""
    runs: list[LaunchRun] = []

    def start(launch_file: str, **arguments: str) -> LaunchRun:
        env = launch_env(ros.env, release, colcon_install)
        run = LaunchRun(
            LAUNCH_DIR / launch_file, arguments, env, tmp_path / f"launch{len(runs)}.log"
        )
        runs.append(run)
        return run

    yield start
    for run in runs:
        code = run.stop()
        output = run.output()
        assert code == 0, run.report(f"launch exited with {code}")
        started = output.count("process started with pid")
        assert started >= 1, run.report("no process was started")
        assert output.count("process has finished cleanly") == started, run.report("unclean exit")
        assert "escalating to" not in output, run.report("a process ignored Ctrl-C's SIGINT")


def image_message(rgb: np.ndarray, index: int, compressed: bool):
    from sensor_msgs.msg import CompressedImage

    from seg_perception.nodes.ros_image import array_to_image_msg

    if compressed:
        msg = CompressedImage(format="jpeg")
        msg.data = cv2.imencode(".jpg", rgb[:, :, ::-1])[1].tobytes()
    else:
        msg = array_to_image_msg(rgb, "rgb8", CompressedImage().header)
    msg.header.stamp.sec, msg.header.stamp.nanosec = 1_700_000_000, index * 100_000_000
    msg.header.frame_id = "camera"
    return msg


def feed_until_output(
    ros, run: LaunchRun, input_topic: str, output_topic: str, rgb: np.ndarray, compressed: bool
) -> object:
    """Publish frames on ``input_topic`` (10 Hz, stamps 0.1 s apart) until a message
    arrives on ``output_topic``; returns it."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CompressedImage, Image

    received: list = []
    subscription = ros.node.create_subscription(Image, output_topic, received.append, 10)
    kind = CompressedImage if compressed else Image
    publisher = ros.node.create_publisher(kind, input_topic, qos_profile_sensor_data)
    try:
        deadline, index = time.monotonic() + OUTPUT_TIMEOUT, 0
        while not received and time.monotonic() < deadline and run.process.poll() is None:
            publisher.publish(image_message(rgb, index, compressed))
            ros.spin_until(lambda: bool(received), timeout=0.1)
            index += 1
    finally:
        ros.node.destroy_subscription(subscription)
        ros.node.destroy_publisher(publisher)
    assert received, run.report(f"nothing on {output_topic} after feeding {input_topic}")
    return received[0]


def view_state_after_feeding(ros, run: LaunchRun, url: str, rgb: np.ndarray) -> dict:
    """Feed the launch's camera until its browser view has shown a frame; its state."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    publisher = ros.node.create_publisher(
        Image, "/robot1/camera/image_raw", qos_profile_sensor_data
    )
    state: dict = {}
    try:
        deadline, index = time.monotonic() + OUTPUT_TIMEOUT, 0
        while time.monotonic() < deadline and run.process.poll() is None:
            publisher.publish(image_message(rgb, index, False))
            ros.spin_until(lambda: False, timeout=0.1)
            index += 1
            try:
                with urllib.request.urlopen(url + "state.json", timeout=5) as response:
                    state = json.load(response)
            except OSError:
                continue
            if state["frames"] > 0 and state["classes"]:
                break
    finally:
        ros.node.destroy_publisher(publisher)
    assert state.get("frames"), run.report(f"the browser view at {url} showed no frame: {state}")
    return state


def topics_in_graph(ros, topics: list[str], timeout: float = 20.0) -> list[str]:
    """Those of ``topics`` still missing from the graph after ``timeout`` s."""
    missing: Callable[[], list[str]] = lambda: [  # noqa: E731
        t for t in topics if t not in dict(ros.node.get_topic_names_and_types())
    ]
    ros.spin_until(lambda: not missing(), timeout)
    return missing()


def test_raw_image_remap(start_launch, ros, camera_rgb) -> None:
    run = start_launch("segmentation.launch.py", image="/cam/image_raw")
    labels = feed_until_output(
        ros, run, "/cam/image_raw", "/segmentation_node/labels", camera_rgb, False
    )
    assert (labels.width, labels.height, labels.encoding) == (320, 240, "mono8")
    assert labels.header.frame_id == "camera"


def test_compressed_follows_the_image_remap(start_launch, ros, camera_rgb) -> None:
    run = start_launch("segmentation.launch.py", image="/cam/front", compressed="true")
    feed_until_output(
        ros, run, "/cam/front/compressed", "/segmentation_node/labels", camera_rgb, True
    )


def test_use_flow_publishes_motion(start_launch, ros, camera_rgb) -> None:
    run = start_launch("segmentation.launch.py", image="/cam/image_raw", use_flow="true")
    motion = feed_until_output(
        ros, run, "/cam/image_raw", "/segmentation_node/motion", camera_rgb, False
    )
    assert motion.encoding == "mono8"


def test_namespace_generated_rviz_config_and_browser_view(
    start_launch, ros, camera_rgb, tmp_path
) -> None:
    config = tmp_path / "robot1.rviz"
    port = free_port()
    run = start_launch(
        "segmentation.launch.py",
        image="/robot1/camera/image_raw",
        namespace="robot1",
        rviz_config=str(config),
        web="true",
        web_port=str(port),
    )
    feed_until_output(
        ros, run, "/robot1/camera/image_raw", "/robot1/segmentation_node/labels", camera_rgb, False
    )
    view = view_state_after_feeding(ros, run, f"http://127.0.0.1:{port}/", camera_rgb)
    assert view["topic"] == "/robot1/segmentation_node/overlay"
    assert [c["name"] for c in view["classes"]] == list(CAMVID.names)
    topics = display_topics(config.read_text())
    assert set(topics) == {"Camera", "Segmentation overlay", "Confidence", "Class legend"}
    assert topics["Segmentation overlay"] == "/robot1/segmentation_node/overlay"
    missing = topics_in_graph(ros, list(topics.values()))
    assert not missing, run.report(f"RViz displays on topics not in the graph: {missing}")


def test_managed_node_is_configured_and_activated(start_launch, ros, camera_rgb) -> None:
    from lifecycle_msgs.msg import State
    from lifecycle_msgs.srv import GetState

    run = start_launch("segmentation.launch.py", image="/cam/image_raw", managed="true")
    feed_until_output(ros, run, "/cam/image_raw", "/segmentation_node/labels", camera_rgb, False)
    client = ros.node.create_client(GetState, "/segmentation_node/get_state")
    try:
        assert client.wait_for_service(timeout_sec=20.0)
        future = client.call_async(GetState.Request())
        assert ros.spin_until(future.done, 20.0)
        assert future.result().current_state.id == State.PRIMARY_STATE_ACTIVE
    finally:
        ros.node.destroy_client(client)


def test_driving_launch_with_segmentation(start_launch, ros) -> None:
    from geometry_msgs.msg import Twist
    from sensor_msgs.msg import Image

    run = start_launch("driving_sim.launch.py", segmentation="true")
    labels: list = []
    commands: list = []
    subscriptions = [
        ros.node.create_subscription(Image, "/segmentation_node/labels", labels.append, 10),
        ros.node.create_subscription(Twist, "/cmd_vel", commands.append, 10),
    ]
    try:
        arrived = ros.spin_until(lambda: bool(labels and commands), OUTPUT_TIMEOUT)
    finally:
        for subscription in subscriptions:
            ros.node.destroy_subscription(subscription)
    assert arrived, run.report(f"labels: {len(labels)}, commands: {len(commands)}")


def test_launch_testing_description(ros, colcon_install, release, tmp_path) -> None:
    """The launch_testing test (ReadyToTest, active and post-shutdown tests) passes."""
    env = launch_env(ros.env, release, colcon_install)
    test_file = Path(__file__).resolve().parent / "launch" / "segmentation_launch_test.py"
    result = subprocess.run(
        [sys.executable, "-m", "launch_testing.launch_test", str(test_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "test_labels_arrive" in output and "test_exit_codes" in output, output[-4000:]


def test_a_missing_params_file_is_one_line(ros, colcon_install, release, tmp_path) -> None:
    """launch_ros alone would warn and start the node with its defaults."""
    env = launch_env(ros.env, release, colcon_install)
    missing = tmp_path / "nope.yaml"
    run = LaunchRun(
        LAUNCH_DIR / "segmentation.launch.py",
        {"params_file": str(missing)},
        env,
        tmp_path / "launch.log",
    )
    try:
        run.process.wait(timeout=OUTPUT_TIMEOUT)
    finally:
        code = run.stop()
    output = run.output()
    assert code != 0 and "process started" not in output, run.report("started anyway")
    errors = [line for line in output.splitlines() if "[ERROR]" in line]
    assert len(errors) == 1 and f"params_file {missing} not found" in errors[0], output
