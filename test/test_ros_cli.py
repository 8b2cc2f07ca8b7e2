"""``seg-perception ros ...``, the stand-ins for the ``ros2`` commands, against real node
processes: topics, echo (a latched topic and an image), call, send-mask to a VOS node,
lifecycle transitions; and their one-line errors."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
import yaml

from seg_perception.nodes.ros_graph import NodeProcess
from seg_perception.samples import load_camvid_sample

pytestmark = [pytest.mark.ros, pytest.mark.slow]

NAMESPACE = "/cli"
NODE = f"{NAMESPACE}/segmentation_node"
CAMERA = f"{NAMESPACE}/image"
SIZE = (240, 180)
CLI_TIMEOUT = 120


def ros_verb(ros, *argv: str) -> subprocess.CompletedProcess:
    """``seg-perception ros <argv>`` in its own process, on the test's ROS domain."""
    return subprocess.run(
        [sys.executable, "-m", "seg_perception", "ros", *argv],
        env=ros.env, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False,
    )  # fmt: skip


def one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, (result.returncode, result.stderr)
    assert lines[0].startswith("seg-perception ros: error: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    _, frame, _ = load_camvid_sample(limit=1)[0]
    return cv2.resize(frame, SIZE, interpolation=cv2.INTER_AREA)


@pytest.fixture
def camera(ros, rgb) -> Iterator[None]:
    """Frames on ``CAMERA`` at 10 Hz, from a thread, while the CLI processes run."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from seg_perception.nodes.ros_image import array_to_image_msg

    publisher = ros.node.create_publisher(Image, CAMERA, qos_profile_sensor_data)
    stop = threading.Event()

    def publish() -> None:
        count = 0
        while not stop.wait(0.1):
            count += 1
            msg = array_to_image_msg(rgb, "rgb8", Image().header)
            msg.header.frame_id = "camera"
            msg.header.stamp.sec, msg.header.stamp.nanosec = 100 + count // 10, count % 10
            publisher.publish(msg)

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()
    ros.node.destroy_publisher(publisher)


def init_before_its_frame_is_taken(ros, mask: np.ndarray, rgb: np.ndarray) -> bool:
    """Publish an init for stamp 9999.0, then that frame: the node takes the init."""
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from seg_perception.nodes.diagnostics import segmentation_status
    from seg_perception.nodes.ros_image import array_to_image_msg

    header = Header(frame_id="camera")
    header.stamp.sec = 9999
    target: list[str] = []

    def on_diagnostics(msg) -> None:
        values = segmentation_status(msg, NODE)
        if values is not None:
            target[:] = [values["vos_target_stamp"]] if "vos_target_stamp" in values else []

    entities = [
        ros.node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10),
        init := ros.node.create_publisher(Image, f"{NODE}/vos/init", QoSProfile(depth=2)),
        camera := ros.node.create_publisher(Image, CAMERA, qos_profile_sensor_data),
    ]
    try:
        assert ros.spin_until(lambda: init.get_subscription_count() > 0, 30.0)
        init.publish(array_to_image_msg(mask, "mono8", header))
        ros.spin_until(lambda: False, 0.3)  # the init is there before its frame
        frame = array_to_image_msg(rgb, "rgb8", header)
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:  # best effort: send it until it is taken
            camera.publish(frame)
            if ros.spin_until(lambda: target == ["9999.000000000"], 0.2):
                return True
        return False
    finally:
        for entity in entities[:1]:
            ros.node.destroy_subscription(entity)
        for entity in entities[1:]:
            ros.node.destroy_publisher(entity)


def test_topics_echo_call_and_send_mask_on_a_vos_node(
    start_node, ros, camera, tmp_path, rgb
) -> None:
    node = start_node(
        "-r", f"__ns:={NAMESPACE}", "-p", "vos:=true", "-p", "vos_finetune_steps:=2",
        "-p", "diagnostics_period:=0.2", "-p", "num_threads:=1",
    )  # fmt: skip

    labels = ros_verb(ros, "echo", f"{NODE}/labels", "--once", "--timeout", "60")
    assert labels.returncode == 0, node.report(labels.stderr)
    message = yaml.safe_load(labels.stdout.split("\n---")[0])
    assert message["encoding"] == "mono8" and (message["width"], message["height"]) == SIZE
    assert message["header"]["frame_id"] == "camera"
    assert message["data"] == f"<{SIZE[0] * SIZE[1]} values>"

    # ~/class_names is latched: published once at start, delivered to a late subscriber
    classes = ros_verb(ros, "echo", f"{NODE}/class_names", "--once", "--timeout", "60")
    assert classes.returncode == 0, classes.stderr
    names = [c["name"] for c in yaml_json(classes.stdout)["classes"]]
    assert names[:3] == ["Sky", "Building", "Pole"]

    rows: dict[str, str] = {}
    for _ in range(4):  # a fresh process discovers the node within an announcement or two
        topics = ros_verb(ros, "topics")
        assert topics.returncode == 0, topics.stderr
        rows = {line.split()[0]: line for line in topics.stdout.splitlines()}
        if f"{NODE}/class_names" in rows and f"{NODE}/labels" in rows:
            break
    assert f"{NODE}/labels" in rows, topics.stdout
    assert "sensor_msgs/msg/Image" in rows[f"{NODE}/labels"]
    assert "transient local" in rows[f"{NODE}/class_names"]

    mask = np.zeros(SIZE[::-1], np.uint8)
    mask[60:120, 80:160] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    mask_args = ["--camera", CAMERA, "--timeout", "60"]
    sent = ros_verb(ros, "send-mask", NODE, str(tmp_path / "mask.png"), *mask_args)
    assert sent.returncode == 0, node.report(sent.stdout + sent.stderr)
    assert f"{NODE} learns the object" in sent.stdout

    # an init may overtake the frame it names (the sender saw the frame first): it waits
    assert init_before_its_frame_is_taken(ros, mask, rgb), node.report("early init lost")

    cv2.imwrite(str(tmp_path / "small.png"), mask[:50, :50])
    wrong = ros_verb(ros, "send-mask", NODE, str(tmp_path / "small.png"), *mask_args)
    assert "small.png is 50x50, the frames on /cli/image are 240x180" in one_line_error(wrong)

    reset = ros_verb(ros, "call", f"{NODE}/vos/reset")
    assert reset.returncode == 0, reset.stderr
    assert yaml.safe_load(reset.stdout) == {
        "success": True,
        "message": "VOS target forgotten; idle",
    }

    missing = ros_verb(ros, "call", f"{NODE}/no_such_service", "--timeout", "2")
    assert f"no service {NODE}/no_such_service within 2 s" in one_line_error(missing)
    bad_yaml = ros_verb(ros, "call", f"{NODE}/vos/reset", "{data: [")
    assert "the request is not YAML" in one_line_error(bad_yaml)
    bad_field = ros_verb(ros, "call", f"{NODE}/vos/reset", "{data: true}")
    assert "has no field 'data'" in one_line_error(bad_field)
    assert node.alive(), node.report("the node died")


def yaml_json(echoed: str) -> dict:
    """The JSON held by an echoed ``std_msgs/String``."""
    import json

    return json.loads(yaml.safe_load(echoed.split("\n---")[0])["data"])


def test_lifecycle_get_refused_and_done_transitions(ros, params_file, tmp_path) -> None:
    name = "/cli_lifecycle"
    process = NodeProcess(
        "segmentation_lifecycle_node",
        ["--params-file", str(params_file), "-r", f"__node:={name[1:]}"],
        {**ros.env, "PYTHONUNBUFFERED": "1"},
        tmp_path / "lifecycle.log",
    )
    with process:
        state = ros_verb(ros, "lifecycle", name, "get", "--timeout", "60")
        assert (state.returncode, state.stdout.strip()) == (0, "unconfigured"), process.report(
            state.stderr
        )
        refused = one_line_error(ros_verb(ros, "lifecycle", name, "activate", "--timeout", "60"))
        assert f"cannot activate {name} in state unconfigured; possible: configure, shutdown" in (
            refused
        )
        configured = ros_verb(ros, "lifecycle", name, "configure", "--timeout", "60")
        assert configured.returncode == 0, process.report(configured.stderr)
        assert configured.stdout.strip() == "configure: done; state inactive"
        assert process.alive()


def test_echo_of_a_topic_nobody_publishes_is_one_line(ros) -> None:
    result = ros_verb(ros, "echo", "/nobody/publishes", "--timeout", "1")
    assert "no publisher of /nobody/publishes within 1 s" in one_line_error(result)


@pytest.mark.parametrize("request_text", ["[1, 2]", "{data: [}"])
def test_requests_that_are_not_mappings_are_refused(request_text: str) -> None:
    from seg_perception.tools.ros_cli import _parse_request

    with pytest.raises(ValueError, match="request"):
        _parse_request(request_text)
