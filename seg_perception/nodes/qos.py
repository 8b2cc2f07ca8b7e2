"""QoS profiles for image topics, and subscriptions that match what publishers offer."""

from __future__ import annotations

from collections.abc import Sequence

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.topic_endpoint_info import TopicEndpointInfo

__all__ = [
    "image_subscription_qos",
    "image_publisher_qos",
    "matching_subscription_qos",
    "RELIABILITY_CHOICES",
]

RELIABILITY_CHOICES = ("best_effort", "reliable")


def image_subscription_qos(reliability: str = "best_effort", depth: int = 1) -> QoSProfile:
    """Sensor-data style QoS. Best effort (the default) matches publishers of either
    reliability; ``reliable`` matches only reliable publishers."""
    if reliability not in RELIABILITY_CHOICES:
        raise ValueError(
            f"qos_reliability must be one of {RELIABILITY_CHOICES}, got {reliability!r}"
        )
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=(
            ReliabilityPolicy.BEST_EFFORT
            if reliability == "best_effort"
            else ReliabilityPolicy.RELIABLE
        ),
        durability=DurabilityPolicy.VOLATILE,
    )


def image_publisher_qos(depth: int = 5) -> QoSProfile:
    """Outputs are published reliable, which both reliable subscribers (RViz's default)
    and best-effort subscribers accept; a few frames of history keep a slow reliable
    reader from losing them."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )


def matching_subscription_qos(offered: Sequence[TopicEndpointInfo], depth: int) -> QoSProfile:
    """What ``ros2 bag record`` subscribes with: reliable when every publisher offers it
    (else best effort), transient local when every publisher offers it (a latched topic
    such as ``~/class_names``: its last message is delivered to the late subscriber)."""
    qos = [info.qos_profile for info in offered]
    reliable = bool(qos) and all(q.reliability == ReliabilityPolicy.RELIABLE for q in qos)
    latched = bool(qos) and all(q.durability == DurabilityPolicy.TRANSIENT_LOCAL for q in qos)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )
