"""``policy_node``: camera frames in, ``cmd_vel`` out, from a learned driving policy.

Subscribes ``image`` (``sensor_msgs/Image``, sensor-data QoS); publishes ``cmd_vel``
(``geometry_msgs/Twist``, mapping in ``seg_perception.driving.commands``), optionally
``~/segmentation`` (mono8, the policy's auxiliary head) and ``/diagnostics``.

Safety: a zero command is published (every ``1 / watchdog_rate`` s) while no usable
frame has arrived for ``stale_timeout`` seconds (frames that fail to decode are
rejected, counted and do not count as fresh), and for every frame while the emergency
stop is engaged (parameter ``estop``, or the ``~/estop`` ``std_srvs/SetBool``
service). Commands are capped in magnitude and in rate of change (per second of
frame-stamp time; a gap longer than ``max_dt`` restarts the rate limit). A frame with
the (non-zero) stamp of the frame just answered is counted as a duplicate and not
answered again.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import fields

import cv2
import torch
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import Twist
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_srvs.srv import SetBool

from ..checkpoint import POLICY_CHECKPOINT, CheckpointError
from ..device import select_device
from ..driving.commands import LimiterConfig
from ..driving.policy_runner import PolicyRunner, compile_policy, load_policy
from ..image_codec import ImageDecodeError, image_msg_to_rgb
from ..inference.backends import BACKENDS, choose_backend
from ..latency_stats import LatencyStats
from .diagnostics import diagnostic_array
from .node_main import run_node
from .parameter_declaration import reject_non_finite
from .qos import image_publisher_qos, image_subscription_qos
from .ros_image import array_to_image_msg, stamp_key

__all__ = ["PolicyNode", "main"]

_PARAMS = {
    "checkpoint": ("", "Policy checkpoint; empty = the bundled CarRacing policy"),
    "device": ("auto", "Inference device: auto, cpu or cuda[:N]"),
    "inference_backend": (
        "torch",
        "Network runtime: torch (default: the policy is tiny), auto (OpenVINO on x86 CPUs, "
        "else ONNX Runtime, else torch), onnxruntime or openvino",
    ),
    "input_size": (96, "Side of the square frame the policy sees (frames are resized)"),
    "stale_timeout": (0.5, "Seconds without a frame after which zero commands are sent"),
    "watchdog_rate": (20.0, "Hz of the stale-frame check (and of zero commands while stale)"),
    "estop": (False, "Emergency stop: publish only zero commands (runtime settable)"),
    "max_steer": (1.0, "Largest |angular.z|"),
    "max_forward": (1.0, "Largest linear.x (gas)"),
    "max_reverse": (1.0, "Largest -linear.x (brake)"),
    "steer_rate": (15.0, "Largest change of angular.z per second"),
    "throttle_rate": (15.0, "Largest change of linear.x per second"),
    "max_dt": (0.25, "Frame gap (s) beyond which the rate limit restarts"),
    "publish_segmentation": (False, "Also run the auxiliary head and publish ~/segmentation"),
    "qos_depth": (1, "Input queue depth"),
    "num_threads": (1, "Torch CPU threads (0 = torch default)"),
    "diagnostics_period": (1.0, "Seconds between /diagnostics messages"),
}


def _validate(p: dict) -> None:
    reject_non_finite(p)
    if p["inference_backend"] not in BACKENDS:
        raise ValueError(f"inference_backend must be one of {', '.join(BACKENDS)}")
    for name in ("max_steer", "max_forward", "max_reverse"):
        if not 0.0 <= p[name] <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {p[name]}")
    for name in (
        "stale_timeout",
        "watchdog_rate",
        "steer_rate",
        "throttle_rate",
        "max_dt",
        "diagnostics_period",
    ):
        if p[name] <= 0:
            raise ValueError(f"{name} must be positive, got {p[name]}")
    if not 16 <= p["input_size"] <= 1024:
        raise ValueError(f"input_size must be in 16..1024, got {p['input_size']}")
    if not 1 <= p["qos_depth"] <= 100 or not 0 <= p["num_threads"] <= 256:
        raise ValueError("qos_depth must be in 1..100 and num_threads in 0..256")


class PolicyNode(Node):
    """See the module docstring."""

    def __init__(self, **node_kwargs) -> None:
        super().__init__("policy_node", **node_kwargs)
        self.p = {
            name: self.declare_parameter(
                name,
                default,
                ParameterDescriptor(description=text, read_only=name != "estop"),
            ).value
            for name, (default, text) in _PARAMS.items()
        }
        _validate(self.p)
        if self.p["num_threads"]:
            torch.set_num_threads(self.p["num_threads"])
        path = self.p["checkpoint"] or str(POLICY_CHECKPOINT)
        model, _ = load_policy(path)
        limits = LimiterConfig(**{f.name: self.p[f.name] for f in fields(LimiterConfig)})
        device = select_device(self.p["device"])
        choice = choose_backend(self.p["inference_backend"], device)
        network = compile_policy(
            model,
            path,
            self.p["input_size"],
            choice.name,
            self.p["publish_segmentation"],
            device,
            self.p["num_threads"],
        )
        self.get_logger().info(f"inference backend {choice.name} ({choice.reason})")
        self.runner = PolicyRunner(model, limits, self.p["device"], network)
        self.estop = bool(self.p["estop"])
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.cmd_pub = self.create_publisher(Twist, "cmd_vel", 10)
        if self.p["publish_segmentation"]:
            self.seg_pub = self.create_publisher(Image, "~/segmentation", image_publisher_qos(5))
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.image_sub = self.create_subscription(
            Image,
            "image",
            self._on_image,
            image_subscription_qos("best_effort", self.p["qos_depth"]),
        )
        self.create_service(SetBool, "~/estop", self._on_estop)
        self._lock = threading.Lock()
        self.counters = {
            "frames": 0,
            "commands": 0,
            "rejected": 0,
            "stale_events": 0,
            "zero_commands": 0,
            "duplicates": 0,
        }
        self.stats = LatencyStats()
        self._last_frame_at = time.monotonic()  # the watchdog counts from start-up
        self._answered_stamp: tuple[int, int] | None = None  # the last frame commanded
        self._stale = False
        self._last_problem = ""
        self.create_timer(1.0 / self.p["watchdog_rate"], self._watchdog)
        self.create_timer(self.p["diagnostics_period"], self._publish_diagnostics)
        self.get_logger().info(f"driving from '{self.image_sub.topic_name}' with {path}")

    # -- safety -----------------------------------------------------------------------
    def _set_estop(self, engaged: bool) -> None:
        if engaged != self.estop:
            self.get_logger().warning(f"emergency stop {'ENGAGED' if engaged else 'released'}")
        self.estop = engaged
        if engaged:
            self._publish_zero()
        else:
            self.runner.reset()  # ramp up from zero again

    def _on_estop(self, request: SetBool.Request, response: SetBool.Response):
        self._set_estop(bool(request.data))
        response.success = True
        response.message = "engaged" if self.estop else "released"
        return response

    def _on_set_parameters(self, changes) -> SetParametersResult:
        for change in changes:
            if change.name == "estop":
                self._set_estop(bool(change.value))
        return SetParametersResult(successful=True)

    def _publish_zero(self) -> None:
        self.cmd_pub.publish(Twist())
        self.counters["zero_commands"] += 1

    def _watchdog(self) -> None:
        stale = time.monotonic() - self._last_frame_at > self.p["stale_timeout"]
        if stale and not self._stale:
            self.counters["stale_events"] += 1
            self.get_logger().warning(
                f"no frame for {self.p['stale_timeout']} s: sending zero commands"
            )
            self.runner.reset()
        self._stale = stale
        if stale or self.estop:
            self._publish_zero()

    # -- frames -----------------------------------------------------------------------
    def _on_image(self, msg: Image) -> None:
        started = time.perf_counter()
        self.counters["frames"] += 1
        try:
            rgb = image_msg_to_rgb(msg)
        except ImageDecodeError as exc:
            self.counters["rejected"] += 1
            self._last_problem = str(exc)
            self.get_logger().warning(f"rejected frame: {exc}", throttle_duration_sec=5.0)
            return
        self._last_frame_at = time.monotonic()  # only a usable frame keeps the camera fresh
        if self.estop:
            self._publish_zero()
            return
        key = stamp_key(msg)
        if key == self._answered_stamp and key != (0, 0):
            # a frame sent again (the lock-step bridge resends one it thinks unanswered):
            # a second command would step the simulator twice on one observation
            self.counters["duplicates"] += 1
            return
        size = self.p["input_size"]
        if rgb.shape[:2] != (size, size):
            rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
        stamp = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
        command = self.runner(
            rgb, stamp, with_segmentation=self.p["publish_segmentation"], now_s=time.monotonic()
        )
        twist = Twist()
        twist.linear.x, twist.angular.z = command.linear_x, command.angular_z
        self.cmd_pub.publish(twist)
        self._answered_stamp = key
        self.counters["commands"] += 1
        if command.segmentation is not None:
            self.seg_pub.publish(array_to_image_msg(command.segmentation, "mono8", msg.header))
        timings = dict(command.timings_ms)
        timings["total"] = 1e3 * (time.perf_counter() - started)
        with self._lock:
            self.stats.record(timings)

    def _publish_diagnostics(self) -> None:
        with self._lock:
            fps, latency = self.stats.fps(), self.stats.summary()
        if self.estop:
            level, message = DiagnosticStatus.WARN, "emergency stop engaged: zero commands"
        elif self._stale:
            level, message = DiagnosticStatus.WARN, "camera stale: zero commands"
        else:
            level, message = DiagnosticStatus.OK, "driving"
        self.diagnostics_pub.publish(
            diagnostic_array(
                self.get_clock().now(),
                f"{self.get_name()}: policy",
                str(self.runner.device),
                level,
                message,
                dict(self.counters),
                fps,
                latency,
                {
                    "estop": str(self.estop).lower(),
                    "inference_backend": self.runner.backend,
                    "last_problem": self._last_problem,
                },
            )
        )


def main(args: list[str] | None = None) -> int:
    return run_node("policy_node", PolicyNode, (ValueError, CheckpointError), args)


if __name__ == "__main__":
    sys.exit(main())
