"""launch_testing integration test of segmentation.launch.py (run by test_launch.py as
``python -m launch_testing.launch_test``): the launch, ``ReadyToTest``, an active test
that feeds a frame and waits for ``~/labels``, and a post-shutdown test on exit codes."""

from __future__ import annotations

import time
import unittest
from pathlib import Path

import launch_testing
import launch_testing.asserts
import numpy as np
import rclpy
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from launch import LaunchDescription
from seg_perception.nodes.ros_image import array_to_image_msg

LAUNCH_FILE = Path(__file__).resolve().parents[2] / "launch" / "segmentation.launch.py"
IMAGE_TOPIC = "/launch_testing/image_raw"


def generate_test_description():
    segmentation = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(LAUNCH_FILE)),
        launch_arguments={"image": IMAGE_TOPIC}.items(),
    )
    return LaunchDescription([segmentation, launch_testing.actions.ReadyToTest()]), {}


class TestLabelsFlow(unittest.TestCase):
    """Active test: runs while the launched node is up."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.context = rclpy.Context()
        rclpy.init(context=cls.context)
        cls.node = rclpy.create_node("launch_testing_probe", context=cls.context)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.node.destroy_node()
        rclpy.shutdown(context=cls.context)

    def test_labels_arrive(self) -> None:
        received: list[Image] = []
        self.node.create_subscription(Image, "/segmentation_node/labels", received.append, 10)
        publisher = self.node.create_publisher(Image, IMAGE_TOPIC, qos_profile_sensor_data)
        frame = np.zeros((120, 160, 3), np.uint8)
        frame[60:] = (128, 64, 128)
        executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        executor.add_node(self.node)
        deadline = time.monotonic() + 60.0
        while not received and time.monotonic() < deadline:
            publisher.publish(array_to_image_msg(frame, "rgb8", Image().header))
            executor.spin_once(timeout_sec=0.2)
        executor.remove_node(self.node)
        self.assertTrue(received, "no ~/labels within 60 s")
        self.assertEqual((received[0].width, received[0].height), (160, 120))


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    """After shutdown: every launched process exited with 0 (SIGINT handled cleanly)."""

    def test_exit_codes(self, proc_info) -> None:
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[0])
