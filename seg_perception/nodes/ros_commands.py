"""Stand-ins for the ``ros2`` commands the README uses (ros2cli is not on PyPI): list
topics, echo a topic, call a service, change a lifecycle state, send a VOS init mask.

Each runs on a short-lived node (``graph_node``); problems a user can fix raise
``RosCommandError`` (a ``ValueError``: the CLI prints it as one line).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions

from .message_types import message_class, service_class
from .qos import matching_subscription_qos
from .ros_graph import spin_until

__all__ = [
    "RosCommandError",
    "TopicSummary",
    "graph_node",
    "topic_summaries",
    "echo_topic",
    "call_service",
    "lifecycle_transition",
    "wait_for_topic_type",
    "TRANSITIONS",
]


class RosCommandError(ValueError):
    """A problem the user can fix: no such topic, service or transition, a bad request."""


@dataclass
class GraphNode:
    node: Node
    executor: SingleThreadedExecutor

    def spin_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Spin until ``condition()`` holds or ``timeout`` seconds pass."""
        return spin_until(self.executor, condition, timeout)


@contextmanager
def graph_node(name: str = "seg_perception_cli") -> Iterator[GraphNode]:
    """A node (named ``<name>_<pid>``) and its executor, torn down on exit. Ctrl-C raises
    ``KeyboardInterrupt`` in the caller (rclpy's signal handlers are not installed)."""
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node(f"{name}_{os.getpid()}")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        yield GraphNode(node, executor)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()


def absolute_name(name: str) -> str:
    return name if name.startswith("/") else f"/{name}"


# -- topics ------------------------------------------------------------------------------
@dataclass
class TopicSummary:
    name: str
    types: list[str]
    publishers: int
    subscribers: int
    qos: str  # what the publishers offer, e.g. "reliable, transient local"


def _qos_text(graph: GraphNode, topic: str) -> str:
    offered = graph.node.get_publishers_info_by_topic(topic)
    kinds = sorted(
        {
            ("reliable" if q.reliability == ReliabilityPolicy.RELIABLE else "best effort")
            + (", transient local" if q.durability == DurabilityPolicy.TRANSIENT_LOCAL else "")
            for q in (info.qos_profile for info in offered)
        }
    )
    return " | ".join(kinds) or "-"


def topic_summaries(graph: GraphNode, discovery_seconds: float) -> list[TopicSummary]:
    """Every topic seen within ``discovery_seconds``, with types, endpoint counts and QoS."""
    graph.spin_until(lambda: False, discovery_seconds)
    return [
        TopicSummary(
            name,
            list(types),
            graph.node.count_publishers(name),
            graph.node.count_subscribers(name),
            _qos_text(graph, name),
        )
        for name, types in sorted(graph.node.get_topic_names_and_types())
    ]


def _type_in_graph(
    graph: GraphNode,
    name: str,
    names_and_types: Callable[[], list[tuple[str, list[str]]]],
    timeout: float,
    ready: Callable[[str], bool] = lambda name: True,
) -> str | None:
    """The first type ``names_and_types()`` lists for ``name`` once ``ready(name)``,
    or None after ``timeout`` seconds."""
    found: list[str] = []

    def listed() -> bool:
        found[:] = [t[0] for n, t in names_and_types() if n == name and ready(n)]
        return bool(found)

    return found[0] if graph.spin_until(listed, timeout) else None


def wait_for_topic_type(graph: GraphNode, topic: str, timeout: float) -> str:
    """The type of ``topic`` once a publisher of it is seen."""
    topic = absolute_name(topic)
    node = graph.node
    found = _type_in_graph(
        graph, topic, node.get_topic_names_and_types, timeout, node.count_publishers
    )
    if found is None:
        seen = sorted(n for n, _ in node.get_topic_names_and_types())
        raise RosCommandError(
            f"no publisher of {topic} within {timeout:g} s (check the name, the node and "
            f"ROS_DOMAIN_ID); topics seen: {', '.join(seen) or 'none'}"
        )
    return found


def echo_topic(
    graph: GraphNode,
    topic: str,
    on_message: Callable[[Any], None],
    count: int | None,
    timeout: float,
) -> int:
    """Pass each message of ``topic`` to ``on_message`` until ``count`` arrived (None:
    until Ctrl-C); subscribes with the QoS its publishers offer, so a latched topic's
    last message arrives too. Returns the number received."""
    topic = absolute_name(topic)
    msg_class = message_class(wait_for_topic_type(graph, topic, timeout))
    qos = matching_subscription_qos(graph.node.get_publishers_info_by_topic(topic), 10)
    received = [0]

    def deliver(msg: Any) -> None:
        if count is None or received[0] < count:
            received[0] += 1
            on_message(msg)

    graph.node.create_subscription(msg_class, topic, deliver, qos)
    if count is None:
        while True:
            graph.executor.spin_once(timeout_sec=0.1)
    if not graph.spin_until(lambda: received[0] >= count, timeout):
        raise RosCommandError(f"{received[0]} of {count} messages on {topic} within {timeout:g} s")
    return received[0]


# -- services ----------------------------------------------------------------------------
def _service_type(graph: GraphNode, service: str, timeout: float) -> str:
    found = _type_in_graph(graph, service, graph.node.get_service_names_and_types, timeout)
    if found is None:
        raise RosCommandError(
            f"no service {service} within {timeout:g} s (check the name, the node and "
            "ROS_DOMAIN_ID)"
        )
    return found


def call_service(
    graph: GraphNode,
    service: str,
    fill_request: Callable[[Any], Any],
    timeout: float,
    service_type: str | None = None,
) -> Any:
    """Call ``service`` (its type from the graph unless given) with the request
    ``fill_request(request)`` returns; the response."""
    service = absolute_name(service)
    srv_class = service_class(service_type or _service_type(graph, service, timeout))
    request = fill_request(srv_class.Request())
    client = graph.node.create_client(srv_class, service)
    try:
        if not graph.spin_until(client.service_is_ready, timeout):
            raise RosCommandError(f"service {service} is not ready within {timeout:g} s")
        future = client.call_async(request)
        if not graph.spin_until(future.done, timeout):
            raise RosCommandError(f"no reply from {service} within {timeout:g} s")
        return future.result()
    finally:
        graph.node.destroy_client(client)


# -- lifecycle ---------------------------------------------------------------------------
TRANSITIONS = ("configure", "cleanup", "activate", "deactivate", "shutdown")


def lifecycle_transition(graph: GraphNode, node_name: str, transition: str, timeout: float) -> str:
    """Trigger ``transition`` (one of ``TRANSITIONS``; ``get`` only reads) on the managed
    node ``node_name``; returns the state it is in afterwards."""
    from lifecycle_msgs.msg import Transition

    node_name = absolute_name(node_name).rstrip("/")

    def state() -> str:
        reply = call_service(
            graph, f"{node_name}/get_state", lambda r: r, timeout, "lifecycle_msgs/srv/GetState"
        )
        return reply.current_state.label

    if transition == "get":
        return state()
    available = call_service(
        graph,
        f"{node_name}/get_available_transitions",
        lambda r: r,
        timeout,
        "lifecycle_msgs/srv/GetAvailableTransitions",
    ).available_transitions
    # "shutdown" is one label per source state (unconfigured_shutdown, ...)
    matches = [t.transition for t in available if t.transition.label.split("_")[-1] == transition]
    if not matches:
        labels = sorted({t.transition.label.split("_")[-1] for t in available})
        raise RosCommandError(
            f"cannot {transition} {node_name} in state {state()}; possible: {', '.join(labels)}"
        )

    def change(request):
        request.transition = Transition(id=matches[0].id, label=matches[0].label)
        return request

    reply = call_service(
        graph, f"{node_name}/change_state", change, timeout, "lifecycle_msgs/srv/ChangeState"
    )
    now = state()
    if not reply.success:
        raise RosCommandError(
            f"{transition} of {node_name} failed (its log says why); state: {now}"
        )
    return now
