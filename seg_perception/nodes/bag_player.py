"""``BagPlayer``: publishes a bag's messages over ROS 2 with their recorded timing.

Messages go out as recorded bytes (ROS 1 bags are converted to ROS 2 CDR by
``rosbags``), so any message type with a Python package works, and header stamps
stay as recorded. Publishers are reliable (keep last 10): sensor-data (best effort)
subscribers, like the segmentation node's, accept them too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from tqdm import tqdm

from ..bags.bag_reader import BagReader
from .message_types import message_class
from .node_main import StopRequest

__all__ = ["BagPlayer", "play_bag"]

PUBLISHER_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


class BagPlayer(Node):
    """Publishes ``topics`` of an open ``bag`` at ``rate`` times the recorded speed.

    Args:
        bag: an open bag.
        topics: the topics to publish (each must be in the bag).
        rate: speed factor (2.0 = twice as fast).
    """

    def __init__(self, bag: BagReader, topics: Sequence[str], rate: float = 1.0):
        super().__init__("seg_perception_bag_player")
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.bag = bag
        self.topics = list(topics)
        self.rate = rate
        self.published = 0
        self._converters: dict[str, Callable[[bytes | memoryview], bytes]] = {}
        self._topic_publishers = {}
        for topic in self.topics:
            msgtype = bag.topic_type(topic)
            self._converters[topic] = bag.cdr_converter(msgtype)
            self._topic_publishers[topic] = self.create_publisher(
                message_class(msgtype), topic, PUBLISHER_QOS
            )

    def subscribed(self) -> bool:
        """Every played topic has at least one subscriber."""
        return not self.unsubscribed()

    def unsubscribed(self) -> list[str]:
        """The played topics no subscriber is matched to (yet)."""
        return [t for t, p in self._topic_publishers.items() if p.get_subscription_count() == 0]

    def play_once(self, progress: tqdm | None = None, stop: StopRequest | None = None) -> None:
        """Publish the bag once, sleeping so that message gaps are the recorded ones / rate;
        returns early once ``stop`` is requested."""
        first_timestamp = started = None
        for message in self.bag.messages(self.topics):
            if stop is not None and stop.requested:
                return
            if first_timestamp is None:
                first_timestamp, started = message.timestamp, time.monotonic()
            due = started + (message.timestamp - first_timestamp) / 1e9 / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._topic_publishers[message.topic].publish(
                self._converters[message.topic](message.data)
            )
            self.published += 1
            if progress is not None:
                progress.update()


def play_bag(
    bag: BagReader,
    topics: Sequence[str],
    *,
    rate: float = 1.0,
    loop: bool = False,
    delay: float = 0.5,
    wait_timeout: float | None = 5.0,
    warn: Callable[[str], None] = print,
) -> tuple[int, list[str]]:
    """Publish ``topics`` of ``bag`` (again and again with ``loop``) until done or Ctrl-C.

    A subscriber that exists when playback starts receives every message: the player
    first waits until each topic has a matched subscriber (``wait_timeout`` seconds,
    None = as long as it takes, 0 = not at all), and says which topics had none.

    Args:
        delay: seconds between the subscribers matching and the first message.
        wait_timeout: how long to wait for subscribers.
        warn: receives the one-line notice about topics nobody subscribed to.

    Returns:
        The number of messages published and the topics that had no subscriber.
    """
    # Ctrl-C (or SIGTERM) only asks playback to stop between messages: rclpy's handlers
    # would shut the context down under a publish ("publisher's context is invalid")
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    stop = StopRequest()
    stop.install()
    player = None
    missing: list[str] = []
    try:
        player = BagPlayer(bag, topics, rate)
        deadline = None if wait_timeout is None else time.monotonic() + wait_timeout
        while (
            player.unsubscribed()
            and not stop.requested
            and (deadline is None or time.monotonic() < deadline)
        ):
            time.sleep(0.05)
        missing = player.unsubscribed()
        if missing and not stop.requested:
            warn(
                f"no subscriber on {', '.join(missing)} after {wait_timeout:g} s: playing "
                "anyway, and nothing receives what is published there"
            )
        time.sleep(max(0.0, delay))
        per_pass = sum(bag.count(topic) for topic in topics)
        with tqdm(total=None if loop else per_pass, desc="bag-play", unit="msg") as progress:
            player.play_once(progress, stop)
            while loop and not stop.requested:
                player.play_once(progress, stop)
    finally:
        published = player.published if player is not None else 0
        if player is not None:
            player.destroy_node()
        rclpy.try_shutdown()
    return published, missing
