"""segmentation_lifecycle_node driven through every transition by this (another) process,
over its ``~/change_state`` and ``~/get_state`` services: outputs flow only while active,
diagnostics say ``inactive`` otherwise, a failed configure leaves it unconfigured."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from seg_perception.nodes.ros_graph import NodeProcess
from seg_perception.samples import load_camvid_sample

pytestmark = [pytest.mark.ros, pytest.mark.slow]

NAME = "segmentation_lifecycle"
IMAGE_TOPIC = "/lifecycle/image_raw"
LABELS = f"/{NAME}/labels"
LEGEND = f"/{NAME}/legend"
QUIET_S = 2.0  # frames fed to a node that must not answer, for this long


class LifecycleClient:
    """``~/get_state`` and ``~/change_state`` of the node, from the test node."""

    def __init__(self, ros, process: NodeProcess):
        from lifecycle_msgs.srv import ChangeState, GetState

        self.ros, self.process = ros, process
        self.get = ros.node.create_client(GetState, f"/{NAME}/get_state")
        self.change = ros.node.create_client(ChangeState, f"/{NAME}/change_state")

    def _call(self, client, request):
        ready = self.ros.spin_until(client.service_is_ready, 30.0)
        assert ready, self.process.report(f"{client.srv_name} missing")
        future = client.call_async(request)
        replied = self.ros.spin_until(future.done, 60.0)
        assert replied, self.process.report(f"no reply from {client.srv_name} in 60 s")
        return future.result()

    def state(self) -> str:
        from lifecycle_msgs.srv import GetState

        return self._call(self.get, GetState.Request()).current_state.label

    def transition(self, label: str) -> bool:
        from lifecycle_msgs.msg import Transition
        from lifecycle_msgs.srv import ChangeState

        ids = {
            "configure": Transition.TRANSITION_CONFIGURE,
            "activate": Transition.TRANSITION_ACTIVATE,
            "deactivate": Transition.TRANSITION_DEACTIVATE,
            "cleanup": Transition.TRANSITION_CLEANUP,
            "shutdown": Transition.TRANSITION_UNCONFIGURED_SHUTDOWN,
            "shutdown_inactive": Transition.TRANSITION_INACTIVE_SHUTDOWN,
        }
        request = ChangeState.Request(transition=Transition(id=ids[label]))
        return self._call(self.change, request).success

    def close(self) -> None:
        self.ros.node.destroy_client(self.get)
        self.ros.node.destroy_client(self.change)


class Probe:
    """Feeds frames, collects ``~/labels`` and the node's diagnostics message."""

    def __init__(self, ros, rgb: np.ndarray):
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import Image

        from seg_perception.nodes.ros_image import array_to_image_msg

        self.ros = ros
        self.labels: list = []
        self.diagnostics: list[str] = []
        self.frame = array_to_image_msg(rgb, "rgb8", Image().header)
        self.entities = [
            ros.node.create_subscription(Image, LABELS, self.labels.append, 10),
            ros.node.create_subscription(DiagnosticArray, "/diagnostics", self._diagnostics, 10),
        ]
        self.publisher = ros.node.create_publisher(Image, IMAGE_TOPIC, qos_profile_sensor_data)

    def _diagnostics(self, msg) -> None:
        for status in msg.status:
            if status.name.startswith(f"/{NAME}: "):
                self.diagnostics.append(status.message)

    def feed_until_labels(self, timeout: float = 60.0) -> bool:
        count = len(self.labels)
        deadline = time.monotonic() + timeout
        while len(self.labels) == count and time.monotonic() < deadline:
            self.publisher.publish(self.frame)
            self.ros.spin_until(lambda: len(self.labels) > count, 0.1)
        return len(self.labels) > count

    def feed_quietly(self) -> int:
        """Feed frames for ``QUIET_S`` seconds; how many labels came back meanwhile."""
        self.ros.spin_until(lambda: False, 0.5)  # let in-flight outputs of before land
        count = len(self.labels)
        deadline = time.monotonic() + QUIET_S
        while time.monotonic() < deadline:
            self.publisher.publish(self.frame)
            self.ros.spin_until(lambda: False, 0.1)
        return len(self.labels) - count

    def wait_diagnostics(self, message: str, timeout: float = 20.0) -> bool:
        self.diagnostics.clear()
        return self.ros.spin_until(lambda: message in self.diagnostics, timeout)

    def labels_advertised(self) -> bool:
        return self.ros.node.count_publishers(LABELS) > 0

    def close(self) -> None:
        for entity in self.entities:
            self.ros.node.destroy_subscription(entity)
        self.ros.node.destroy_publisher(self.publisher)


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    _, frame, _ = load_camvid_sample(limit=1)[0]
    return cv2.resize(frame, (240, 180), interpolation=cv2.INTER_AREA)


def start(ros, params_file, tmp_path, *extra: str) -> NodeProcess:
    args = [
        "--params-file",
        str(params_file),
        "-r",
        f"__node:={NAME}",
        "-r",
        f"image:={IMAGE_TOPIC}",
    ]
    process = NodeProcess(
        "segmentation_lifecycle_node",
        [*args, "-p", "diagnostics_period:=0.2", *extra],
        {**ros.env, "PYTHONUNBUFFERED": "1"},
        tmp_path / "lifecycle.log",
    )
    process.start()
    return process


def test_every_transition_and_outputs_only_while_active(ros, params_file, tmp_path, rgb) -> None:
    process = start(ros, params_file, tmp_path)
    client, probe = LifecycleClient(ros, process), Probe(ros, rgb)
    try:
        assert client.state() == "unconfigured"
        assert probe.feed_quietly() == 0 and not probe.labels_advertised()

        assert client.transition("configure") and client.state() == "inactive"
        assert probe.wait_diagnostics("inactive"), process.report("no 'inactive' diagnostics")
        assert probe.feed_quietly() == 0

        assert client.transition("activate") and client.state() == "active"
        assert probe.feed_until_labels(), process.report("no labels while active")

        assert client.transition("deactivate") and client.state() == "inactive"
        assert probe.wait_diagnostics("inactive")
        assert probe.feed_quietly() == 0

        assert client.transition("activate") and client.state() == "active"
        assert probe.feed_until_labels(), process.report("no labels after re-activation")

        assert client.transition("deactivate") and client.transition("cleanup")
        assert client.state() == "unconfigured"
        assert ros.spin_until(lambda: not probe.labels_advertised(), 20.0)
        # cleanup frees every output, the class list's latched legend too
        assert ros.spin_until(lambda: ros.node.count_publishers(LEGEND) == 0, 20.0)

        assert client.transition("configure") and client.state() == "inactive"
        assert client.transition("shutdown_inactive") and client.state() == "finalized"
        assert probe.feed_quietly() == 0
        assert process.alive(), process.report("the node exited on shutdown transition")
    finally:
        probe.close()
        client.close()
        code = process.stop()
    assert code == 0, process.report(f"exit code {code}")


def test_failed_configure_stays_unconfigured(ros, params_file, tmp_path, rgb) -> None:
    process = start(ros, params_file, tmp_path, "-p", "checkpoint:=/nonexistent/model.pt")
    client = LifecycleClient(ros, process)
    try:
        assert client.state() == "unconfigured"
        assert not client.transition("configure")
        assert client.state() == "unconfigured"
        assert "not found" in process.report("")
        assert client.transition("shutdown") and client.state() == "finalized"
    finally:
        client.close()
        process.stop()
