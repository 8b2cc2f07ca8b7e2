"""``BagRecorder``: subscribes topics and writes their messages to a bag as they arrive.

A topic is subscribed once a publisher of it is discovered (its type comes from the
graph), with reliable QoS when every publisher offers it and best effort otherwise,
and transient local when every publisher offers it (latched topics), as ``ros2 bag
record`` does. Messages are stored as received (serialized CDR) with
the receive time as bag timestamp; the bag embeds the definitions ``rosbags`` knows
for the standard message packages.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from tqdm import tqdm

from ..bags.bag_writer import BagWriter
from .message_types import message_class
from .qos import matching_subscription_qos

__all__ = ["BagRecorder", "record_bag"]

DISCOVERY_PERIOD = 0.2  # seconds between looks for publishers of topics not yet subscribed


def absolute_topic(topic: str) -> str:
    return topic if topic.startswith("/") else f"/{topic}"


class BagRecorder(Node):
    """Records ``topics`` into the open ``writer``.

    Args:
        writer: an open ``BagWriter`` (MCAP).
        topics: topic names (relative names are taken from the root namespace).
        progress: a tqdm bar counting messages, or None.
    """

    def __init__(self, writer: BagWriter, topics: Sequence[str], progress: tqdm | None = None):
        super().__init__("seg_perception_bag_recorder")
        self.writer = writer
        self.waiting = [absolute_topic(topic) for topic in dict.fromkeys(topics)]
        self.progress = progress
        self._topic_subscriptions = {}
        self.create_timer(DISCOVERY_PERIOD, self._discover)

    def _discover(self) -> None:
        types = dict(self.get_topic_names_and_types())
        for topic in [t for t in self.waiting if types.get(t)]:
            msgtype = types[topic][0]
            msg_class = message_class(msgtype)  # unsupported types end the recording
            self.writer.add_topic(topic, msgtype)
            self._topic_subscriptions[topic] = self.create_subscription(
                msg_class,
                topic,
                partial(self._on_message, topic),
                matching_subscription_qos(self.get_publishers_info_by_topic(topic), 100),
                raw=True,
            )
            self.waiting.remove(topic)
            self.get_logger().info(f"recording {topic} ({msgtype})")

    def _on_message(self, topic: str, data: bytes) -> None:
        self.writer.write_serialized(topic, self.get_clock().now().nanoseconds, data)
        if self.progress is not None:
            self.progress.update()


def record_bag(writer: BagWriter, topics: Sequence[str], duration: float | None = None) -> None:
    """Record into ``writer`` until ``duration`` seconds pass, Ctrl-C or SIGTERM."""
    rclpy.init()
    executor = SingleThreadedExecutor()
    recorder = None
    try:
        with tqdm(desc="bag-record", unit="msg") as progress:
            recorder = BagRecorder(writer, topics, progress)
            executor.add_node(recorder)
            deadline = None if duration is None else time.monotonic() + duration
            while rclpy.ok() and (deadline is None or time.monotonic() < deadline):
                executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # the normal way to end a recording: the bag is kept
    finally:
        executor.shutdown()
        if recorder is not None:
            for topic in recorder.waiting:
                print(f"warning: no publisher of {topic} was seen: not recorded", flush=True)
            recorder.destroy_node()
        rclpy.try_shutdown()
