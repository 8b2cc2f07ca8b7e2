"""QoS profiles for image topics."""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

__all__ = ["image_subscription_qos", "image_publisher_qos", "RELIABILITY_CHOICES"]

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
