"""Build ``diagnostic_msgs/DiagnosticArray`` messages from counters and latency stats."""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.time import Time

__all__ = ["frame_counters", "diagnostic_array", "segmentation_status"]


def diagnostic_array(
    stamp: Time,
    name: str,
    hardware_id: str,
    level: bytes,
    message: str,
    counters: dict[str, int],
    fps: float,
    latency_ms: dict[str, dict[str, float]],
    extra: dict[str, str] | None = None,
) -> DiagnosticArray:
    """One status: counters, ``fps`` and ``latency_<stage>_{mean,p90}_ms`` values."""
    values = [KeyValue(key=k, value=str(v)) for k, v in counters.items()]
    values.append(KeyValue(key="fps", value=f"{fps:.2f}"))
    for stage, stats in latency_ms.items():
        values.append(KeyValue(key=f"latency_{stage}_mean_ms", value=f"{stats['mean']:.2f}"))
        values.append(KeyValue(key=f"latency_{stage}_p90_ms", value=f"{stats['p90']:.2f}"))
    values.extend(KeyValue(key=k, value=v) for k, v in (extra or {}).items())
    status = DiagnosticStatus(
        level=level, name=name, message=message, hardware_id=hardware_id, values=values
    )
    array = DiagnosticArray()
    array.header.stamp = stamp.to_msg()
    array.status = [status]
    return array


def segmentation_status(msg: DiagnosticArray, node_name: str) -> dict[str, str] | None:
    """The key-values of the segmentation status of the node ``node_name`` (its fully
    qualified name) in ``msg``, or None when ``msg`` does not hold it."""
    for status in msg.status:
        if status.name == f"{node_name}: segmentation":
            return {kv.key: kv.value for kv in status.values}
    return None


def frame_counters(frames, worker) -> dict[str, int]:
    """The frame counters of a runner's diagnostics: received, dropped, each outcome,
    worker restarts and frames in progress.

    Outcomes are read first, then dropped, then received: each frame counted in an
    earlier read was received before, so received = dropped + outcomes + in progress
    (taken by the worker or waiting for it; not zero under a slow stage), none negative.
    """
    outcomes = frames.counters()
    dropped = worker.dropped
    counters = {"frames_received": worker.received, "frames_dropped": dropped}
    for key, value in outcomes.items():
        counters[f"frames_{key}" if key in frames.counts else key] = value
    counters["worker_restarts"] = worker.restarts
    finished = sum(outcomes[key] for key in frames.counts)
    counters["frames_in_progress"] = counters["frames_received"] - dropped - finished
    return counters
