"""The shipped Fast DDS profile: Fast DDS parses it, and service replies wait for their reader.

Under load a service's reply was dropped ("client will not receive response") when the
caller's reply reader was not discovered within Fast DDS's default 100 ms; the lifecycle
test then waited 60 s for a ``~/get_state`` reply. The profile raises that wait.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from seg_perception.nodes.ros_graph import profile_variable

PROFILE = Path(__file__).resolve().parents[1] / "config" / "dds" / "fastdds_large_images.xml"
NAMESPACE = {"dds": "http://www.eprosima.com"}

CREATE_A_SERVICE = """
import rclpy
from lifecycle_msgs.srv import GetState
from rclpy.node import Node

rclpy.init()
node = Node("profile_probe")
node.create_service(GetState, "probe", lambda request, response: response)
node.destroy_node()
rclpy.shutdown()
print("service created")
"""


def test_service_replies_wait_seconds_for_the_callers_reader() -> None:
    profiles = ET.parse(PROFILE).getroot().find("dds:profiles", NAMESPACE)
    service = profiles.find("dds:publisher[@profile_name='service']", NAMESPACE)
    assert service is not None, "no publisher profile named 'service' (rmw_fastrtps's name)"
    wait = service.find("dds:qos/dds:reliability/dds:max_blocking_time/dds:sec", NAMESPACE)
    assert wait is not None and int(wait.text) >= 1


@pytest.mark.ros
def test_fast_dds_loads_the_profile_without_errors() -> None:
    env = dict(os.environ, ROS_DOMAIN_ID="231", ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    env[profile_variable()] = str(PROFILE)
    result = subprocess.run(
        [sys.executable, "-c", CREATE_A_SERVICE],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "service created" in output, output
    assert "XMLPARSER" not in output, output
