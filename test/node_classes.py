"""A ``segmentation_node`` started on a checkpoint: its first ``~/labels`` answer to a
frame and the class list it publishes on ``~/class_names``."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import RosHarness

LATCHED_DEPTH = 1


def labels_and_classes(
    ros: RosHarness, start_node, namespace: str, checkpoint: Path, rgb: np.ndarray
) -> tuple[object, dict]:
    """Start the node in ``namespace`` on ``checkpoint`` (its other parameters from the
    repository's file), send ``rgb`` until a label image comes back; return that
    ``sensor_msgs/Image`` and the latest ``~/class_names`` document."""
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header, String

    from seg_perception.nodes.ros_image import array_to_image_msg

    latched = QoSProfile(
        depth=LATCHED_DEPTH,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )
    prefix = f"/{namespace}/segmentation_node"
    class_lists: list[dict] = []
    labels: list[Image] = []
    legends: list[Image] = []
    node = ros.node
    entities = [
        node.create_subscription(Image, f"{prefix}/legend", legends.append, latched),
        node.create_subscription(
            String,
            f"{prefix}/class_names",
            lambda m: class_lists.append(json.loads(m.data)),
            latched,
        ),
        node.create_subscription(Image, f"{prefix}/labels", labels.append, 10),
    ]
    publisher = node.create_publisher(Image, f"/{namespace}/image", qos_profile_sensor_data)
    process = start_node("-r", f"__ns:=/{namespace}", "-p", f"checkpoint:={checkpoint}")
    try:
        frame = array_to_image_msg(rgb, "rgb8", Header(frame_id="cam"))
        deadline = time.monotonic() + 60.0
        while not labels and process.alive() and time.monotonic() < deadline:
            publisher.publish(frame)
            ros.spin_until(lambda: bool(labels), 0.2)
        assert labels, process.report(f"no labels from {checkpoint}")
        assert ros.spin_until(lambda: bool(class_lists), 10.0), process.report("no class list")
        assert ros.spin_until(lambda: bool(legends), 10.0), process.report("no legend")
        check_legend(legends[-1], class_lists[-1])
        return labels[0], class_lists[-1]
    finally:
        for entity in entities:
            node.destroy_subscription(entity)
        node.destroy_publisher(publisher)


def check_legend(legend, class_list: dict) -> None:
    """``~/legend`` is an rgb8 picture with a row per class holding its exact colour."""
    from seg_perception.image_codec import image_msg_to_array

    assert legend.encoding == "rgb8"
    pixels = np.asarray(image_msg_to_array(legend))
    classes = class_list["classes"]
    assert pixels.shape[0] >= 20 * len(classes)
    for entry in classes:
        colour = np.array(entry["color"], np.uint8)
        assert (pixels == colour).all(axis=2).sum() >= 100, f"no swatch for {entry['name']}"
