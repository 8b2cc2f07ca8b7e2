"""If the segmentation worker thread ever dies, /diagnostics says ERROR at once with the
reason, the worker is restarted and frames flow again (the node runs in this process so
the test can kill its worker on purpose)."""

from __future__ import annotations

import cv2
import pytest

from seg_perception.samples import load_camvid_sample

pytestmark = pytest.mark.ros

NAME = "supervised_node"
IMAGE_TOPIC = "/supervised/image"


def test_worker_death_is_reported_and_the_worker_restarted(ros) -> None:
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from seg_perception.nodes.ros_image import array_to_image_msg
    from seg_perception.nodes.segmentation_node import SegmentationNode

    node = SegmentationNode(
        cli_args=["--ros-args", "-r", f"__node:={NAME}", "-r", f"image:={IMAGE_TOPIC}"],
        parameter_overrides=[],
    )
    ros.executor.add_node(node)
    statuses: list = []
    labels: list = []
    subscriptions = [
        ros.node.create_subscription(
            DiagnosticArray,
            "/diagnostics",
            lambda msg: statuses.extend(s for s in msg.status if s.name.startswith(f"/{NAME}:")),
            50,
        ),
        ros.node.create_subscription(Image, f"/{NAME}/labels", labels.append, 10),
    ]
    publisher = ros.node.create_publisher(Image, IMAGE_TOPIC, qos_profile_sensor_data)
    rgb = cv2.resize(load_camvid_sample(limit=1)[0][1], (160, 120))
    frame = array_to_image_msg(rgb, "rgb8", Image().header)

    def feed_until(condition, timeout: float = 30.0) -> bool:
        return ros.spin_until(lambda: condition() or publisher.publish(frame), timeout)

    real_run = node.frames.run

    def killed(*args, **kwargs):
        node.frames.run = real_run  # the restarted worker serves normally
        raise SystemExit("killed on purpose")

    try:
        assert feed_until(lambda: bool(labels)), "no labels before the kill"
        node.frames.run = killed
        errors = lambda: [s for s in statuses if s.level == DiagnosticStatus.ERROR]  # noqa: E731
        assert feed_until(lambda: bool(errors())), "no ERROR after the worker died"
        assert "worker thread died: SystemExit: killed on purpose" in errors()[0].message
        count = len(labels)
        assert feed_until(lambda: len(labels) > count), "no labels after the restart"
        assert node.runner.worker.restarts == 1 and node.runner.worker.alive

        def restarts() -> int:
            values = {kv.key: kv.value for kv in statuses[-1].values} if statuses else {}
            return int(values.get("worker_restarts", 0))

        assert ros.spin_until(lambda: restarts() == 1, 10.0)
    finally:
        for subscription in subscriptions:
            ros.node.destroy_subscription(subscription)
        ros.node.destroy_publisher(publisher)
        ros.executor.remove_node(node)
        node.destroy_node()
