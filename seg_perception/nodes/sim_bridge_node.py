"""``sim_bridge_node``: Gymnasium CarRacing-v3 as a ROS 2 camera and vehicle.

Publishes ``~/image`` (rgb8 frames, 96x96 times ``image_scale``), ``~/labels`` (mono8
ground-truth segmentation: 0 road, 1 grass, 2 kerb, 3 car, 4 background) and
``~/episode`` (``std_msgs/Float64MultiArray``, fields in ``EPISODE_FIELDS``: episode
index, seed, steps, return, progress, done, lap_finished) after every step;
subscribes ``cmd_vel`` (``geometry_msgs/Twist``: ``angular.z`` -> steering, positive
left; ``linear.x`` > 0 gas, < 0 brake, both in [-1, 1]); serves ``~/reset``
(``std_srvs/Trigger``: end this episode, start the next seed).

Episode ``k`` drives track ``seed + k``. ``step_mode``:
- ``fixed_rate``: step at ``rate_hz`` with the newest command (zero when none
  arrived within ``command_timeout``); frames are stamped with the node clock.
- ``lock_step``: step once per received command, then publish the next frame;
  frames are stamped with simulated time (start + 20 ms per step, plus 1 s at each
  new episode) so that everything downstream sees the simulator's 50 Hz. A frame
  that gets no command within ``command_timeout`` is published again.
"""

from __future__ import annotations

import sys
import time

import cv2
import numpy as np
from geometry_msgs.msg import Twist
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Float64MultiArray, Header, MultiArrayDimension
from std_srvs.srv import Trigger

from ..driving.commands import twist_values_to_action
from ..driving.sim import FRAME_PERIOD_S, CarRacingSim
from .node_main import run_node
from .parameter_declaration import reject_non_finite
from .qos import image_publisher_qos
from .ros_image import array_to_image_msg

__all__ = ["SimBridgeNode", "EPISODE_FIELDS", "main"]

EPISODE_FIELDS = ("episode", "seed", "steps", "return", "progress", "done", "lap_finished")
_EPISODE_GAP_NS = 1_000_000_000  # lock-step stamps jump 1 s at each new episode

_PARAMS = {
    "seed": (0, "Track seed of the first episode; episode k drives seed + k"),
    "episodes": (0, "Stop after this many episodes (0 = run forever)"),
    "step_mode": (
        "fixed_rate",
        "fixed_rate (rate_hz, newest command) or lock_step (one step per command)",
    ),
    "rate_hz": (50.0, "Steps per second in fixed_rate mode (the simulator's own rate is 50)"),
    "command_timeout": (
        0.5,
        "fixed_rate: seconds after which a command is stale (zero used); "
        "lock_step: seconds before an unanswered frame is sent again",
    ),
    "image_scale": (1, "Integer upscale of the 96x96 frame (nearest neighbour)"),
    "publish_labels": (True, "Publish ~/labels, the ground-truth segmentation (6 ms a frame)"),
    "frame_id": ("car_camera", "frame_id of the images"),
}


class SimBridgeNode(Node):
    """See the module docstring."""

    def __init__(self, **node_kwargs) -> None:
        super().__init__("sim_bridge_node", **node_kwargs)
        values = {
            name: self.declare_parameter(
                name, default, ParameterDescriptor(description=text, read_only=True)
            ).value
            for name, (default, text) in _PARAMS.items()
        }
        self._validate(values)
        self.p = values
        self.sim = CarRacingSim()
        self.image_pub = self.create_publisher(Image, "~/image", image_publisher_qos(5))
        self.labels_pub = self.create_publisher(Image, "~/labels", image_publisher_qos(5))
        episode_qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.episode_pub = self.create_publisher(Float64MultiArray, "~/episode", episode_qos)
        self.cmd_sub = self.create_subscription(Twist, "cmd_vel", self._on_cmd, 10)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.episode = -1
        self.finished = False
        self._command = (0.0, 0.0)
        self._command_at = -float("inf")
        self._sim_ns = self.get_clock().now().nanoseconds
        self._published_at = time.monotonic()
        self._start_episode()
        if self.p["step_mode"] == "fixed_rate":
            self.create_timer(1.0 / self.p["rate_hz"], self._on_tick)
        else:
            self.create_timer(0.05, self._resend_if_unanswered)
        self.get_logger().info(
            f"CarRacing-v3 bridge: {self.p['step_mode']}, seeds from {self.p['seed']}, "
            f"frames {96 * self.p['image_scale']}x{96 * self.p['image_scale']}"
        )

    @staticmethod
    def _validate(p: dict) -> None:
        reject_non_finite(p)
        if p["step_mode"] not in ("fixed_rate", "lock_step"):
            raise ValueError(f"step_mode must be fixed_rate or lock_step, got {p['step_mode']!r}")
        if not 0.1 <= p["rate_hz"] <= 1000:
            raise ValueError(f"rate_hz must be in [0.1, 1000], got {p['rate_hz']}")
        if not 1 <= p["image_scale"] <= 16:
            raise ValueError(f"image_scale must be in 1..16, got {p['image_scale']}")
        if p["episodes"] < 0 or p["command_timeout"] <= 0:
            raise ValueError("episodes must be >= 0 and command_timeout > 0")

    # -- episodes -------------------------------------------------------------------
    def _start_episode(self) -> None:
        self.episode += 1
        if self.p["episodes"] and self.episode >= self.p["episodes"]:
            self.finished = True
            self.get_logger().info(f"all {self.p['episodes']} episodes done")
            return
        self.sim.reset(self.p["seed"] + self.episode)
        self._sim_ns += _EPISODE_GAP_NS
        self._publish_frame()

    def _publish_episode(self, done: bool, lap_finished: bool = False) -> None:
        msg = Float64MultiArray()
        msg.layout.dim = [
            MultiArrayDimension(label=",".join(EPISODE_FIELDS), size=len(EPISODE_FIELDS))
        ]
        msg.data = [
            float(self.episode),
            float(self.p["seed"] + self.episode),
            float(self.sim.steps),
            float(self.sim.episode_return),
            float(self.sim.progress),
            float(done),
            float(lap_finished),
        ]
        self.episode_pub.publish(msg)

    def _header(self) -> Header:
        header = Header(frame_id=self.p["frame_id"])
        if self.p["step_mode"] == "lock_step":
            header.stamp.sec, header.stamp.nanosec = divmod(self._sim_ns, 1_000_000_000)
        else:
            header.stamp = self.get_clock().now().to_msg()
        return header

    def _publish_frame(self) -> None:
        header = self._header()
        frame = self.sim.frame
        scale = self.p["image_scale"]
        if scale > 1:
            frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        self.image_pub.publish(array_to_image_msg(frame, "rgb8", header))
        if self.p["publish_labels"]:
            labels = self.sim.labels()
            if scale > 1:
                labels = cv2.resize(
                    labels, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST
                )
            self.labels_pub.publish(array_to_image_msg(labels, "mono8", header))
        self._published_at = time.monotonic()

    def _step(self, linear_x: float, angular_z: float) -> None:
        if self.finished:
            return
        result = self.sim.step(twist_values_to_action(linear_x, angular_z))
        self._sim_ns += round(FRAME_PERIOD_S * 1e9)
        self._publish_episode(result.done, result.lap_finished)
        if result.done:
            self.get_logger().info(
                f"episode {self.episode} (seed {self.p['seed'] + self.episode}): return "
                f"{result.episode_return:.1f} in {self.sim.steps} steps"
            )
            self._start_episode()
        else:
            self._publish_frame()

    # -- callbacks ------------------------------------------------------------------
    def _on_cmd(self, msg: Twist) -> None:
        values = (float(msg.linear.x), float(msg.angular.z))
        if not all(np.isfinite(values)):
            self.get_logger().warning("ignored a non-finite cmd_vel", throttle_duration_sec=5.0)
            return
        self._command, self._command_at = values, time.monotonic()
        if self.p["step_mode"] == "lock_step":
            self._step(*values)

    def _on_tick(self) -> None:
        fresh = time.monotonic() - self._command_at <= self.p["command_timeout"]
        self._step(*(self._command if fresh else (0.0, 0.0)))

    def _resend_if_unanswered(self) -> None:
        if not self.finished and time.monotonic() - self._published_at > self.p["command_timeout"]:
            self.get_logger().info(
                f"step {self.sim.steps}: no command for {self.p['command_timeout']} s, "
                "frame sent again",
                throttle_duration_sec=5.0,
            )
            self._publish_frame()

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response):
        if not self.finished:
            self._publish_episode(done=True)
            self._start_episode()
        response.success = not self.finished
        response.message = (
            f"episode {self.episode}, seed {self.p['seed'] + self.episode}"
            if not self.finished
            else "all episodes done"
        )
        return response

    def destroy_node(self) -> None:
        self.sim.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node("sim_bridge_node", SimBridgeNode, (ValueError,), args)


if __name__ == "__main__":
    sys.exit(main())
