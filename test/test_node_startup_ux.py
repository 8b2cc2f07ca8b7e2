"""What a new user meets: a misspelt parameter is named, a node that receives nothing
says so (topic, type, QoS, what is published), compressed input follows the image
remap, and a stream that stops is visible in /diagnostics."""

from __future__ import annotations

import time

import cv2
import pytest

from seg_perception.samples import load_camvid_sample

pytestmark = pytest.mark.ros

NAME = "segmentation_node_ux"


def test_silent_input_misspelt_parameter_and_compressed_remap(ros, start_node) -> None:
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CompressedImage, Image

    process = start_node(
        "-r", f"__node:={NAME}", "-r", "image:=/ux/cam",
        "-p", "input_transport:=compressed", "-p", "input_widht:=320",
        "-p", "stale_after_sec:=1.0", "-p", "diagnostics_period:=0.2",
        name=NAME,
    )  # fmt: skip
    messages: list[str] = []
    labels: list = []
    subscriptions = [
        ros.node.create_subscription(
            DiagnosticArray,
            "/diagnostics",
            lambda msg: messages.extend(
                s.message for s in msg.status if s.name == f"/{NAME}: segmentation"
            ),
            50,
        ),
        ros.node.create_subscription(Image, f"/{NAME}/labels", labels.append, 10),
    ]
    publisher = ros.node.create_publisher(
        CompressedImage, "/ux/cam/compressed", qos_profile_sensor_data
    )
    try:
        silent = (
            "no frame yet: nothing on /ux/cam/compressed "
            "(sensor_msgs/msg/CompressedImage, best_effort)"
        )
        assert ros.spin_until(lambda: any(silent in m for m in messages), 30.0), process.report(
            f"no silent-input diagnostics; got {messages[-3:]}"
        )
        # this test's own publisher exists (it has sent nothing yet): the message names it
        assert "/ux/cam/compressed (CompressedImage)" in next(m for m in messages if silent in m)
        log = process.log_text()
        assert "parameter 'input_widht' is not a parameter of this node" in log, log
        assert "did you mean 'input_width'?" in log

        rgb = cv2.resize(load_camvid_sample(limit=1)[0][1], (160, 120))
        frame = CompressedImage(format="jpeg")
        frame.data = cv2.imencode(".jpg", rgb[:, :, ::-1])[1].tobytes()
        assert ros.spin_until(lambda: bool(labels) or publisher.publish(frame), 30.0), (
            process.report("compressed frames on <image>/compressed got no labels")
        )
        messages.clear()
        stopped = "the stream stopped: nothing on /ux/cam/compressed"
        started = time.monotonic()
        assert ros.spin_until(lambda: any(stopped in m for m in messages), 30.0)
        assert time.monotonic() - started >= 0.5  # not before stale_after_sec of silence
    finally:
        for subscription in subscriptions:
            ros.node.destroy_subscription(subscription)
        ros.node.destroy_publisher(publisher)


def test_a_raw_node_beside_a_compressed_camera_names_the_parameter(ros, start_node) -> None:
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CompressedImage

    name = f"{NAME}_raw"
    process = start_node(
        "-r", f"__node:={name}", "-r", "image:=/ux_raw/cam",
        "-p", "stale_after_sec:=1.0", "-p", "diagnostics_period:=0.2",
        name=name,
    )  # fmt: skip
    messages: list[str] = []
    subscription = ros.node.create_subscription(
        DiagnosticArray,
        "/diagnostics",
        lambda msg: messages.extend(
            s.message for s in msg.status if s.name.startswith(f"/{name}:")
        ),
        50,
    )
    publisher = ros.node.create_publisher(
        CompressedImage, "/ux_raw/cam/compressed", qos_profile_sensor_data
    )
    hint = "/ux_raw/cam/compressed is: -p input_transport:=compressed reads it"
    try:
        assert ros.spin_until(lambda: any(hint in m for m in messages), 30.0), process.report(
            f"no transport hint; got {messages[-3:]}"
        )
    finally:
        ros.node.destroy_subscription(subscription)
        ros.node.destroy_publisher(publisher)
