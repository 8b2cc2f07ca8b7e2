"""Read any rosbag through ``rosbags`` (no ROS installation, no rclpy).

A rosbag2 folder (``metadata.yaml`` plus sqlite3 or MCAP storage), a bare ``.db3`` or
``.mcap`` file, or a ROS 1 ``.bag``. Every problem with a bag (missing, unreadable,
corrupt or truncated, unknown topic, unsupported type) raises an error with a
one-line message; ``read_frames`` and ``read_labels`` decode its images like the node.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
from rosbags.highlevel import AnyReader
from rosbags.typesys.store import Typestore

from .bag_formats import resolve_bag_path, ros2_typestore
from .image_messages import (
    FRAME_ERRORS,
    IMAGE_TYPE,
    IMAGE_TYPES,
    BagError,
    MessageDecodeError,
    Stamp,
    UnsupportedImageError,
    message_to_label,
    message_to_rgb,
)

__all__ = ["BagMessage", "BagReader", "image_topics", "read_labels", "read_frames"]


def _one_line(exc: BaseException) -> str:
    """The error on one line; rosbags' own messages need no class name in front."""
    text = " ".join(str(exc).split())
    if text and type(exc).__module__.startswith("rosbags"):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class BagMessage:
    """One serialized message as stored: topic, type, bag timestamp (ns), bytes."""

    topic: str
    msgtype: str
    timestamp: int
    data: bytes | memoryview


class BagReader:
    """Any rosbag, opened with ``with BagReader(path) as bag:``.

    Args:
        path: rosbag2 folder, ``.mcap``, ``.db3`` or ROS 1 ``.bag``.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = resolve_bag_path(path)
        self._reader: AnyReader | None = None

    def __enter__(self) -> BagReader:
        reader = AnyReader([self.path], default_typestore=ros2_typestore())
        try:
            reader.open()
        except Exception as exc:  # rosbags, sqlite3, yaml and struct raise many types
            raise BagError(f"cannot read bag {self.path}: {_one_line(exc)}") from exc
        self._reader = reader
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            try:
                reader.close()
            except Exception:
                if exc_type is None:
                    raise

    @property
    def reader(self) -> AnyReader:
        if self._reader is None:
            raise RuntimeError("BagReader used outside its 'with' block")
        return self._reader

    @property
    def is_ros1(self) -> bool:
        return not self.reader.is2

    @property
    def typestore(self) -> Typestore:
        """The message types of this bag (its embedded definitions)."""
        return self.reader.typestore

    def topics(self) -> dict[str, tuple[str, int]]:
        """``{topic: (message type, message count)}``."""
        return {
            name: (info.msgtype or "(several types)", info.msgcount)
            for name, info in sorted(self.reader.topics.items())
        }

    def topic_type(self, topic: str, allowed: Iterable[str] | None = None) -> str:
        """The message type of ``topic``.

        Raises:
            BagError: the bag has no such topic (the message lists the topics it has).
            UnsupportedImageError: its type is not in ``allowed``.
        """
        topics = self.topics()
        if topic not in topics:
            listing = ", ".join(f"{name} ({msgtype})" for name, (msgtype, _) in topics.items())
            raise BagError(
                f"topic {topic} not in bag {self.path}; it has: {listing or 'no topics'}"
            )
        msgtype = topics[topic][0]
        allowed = tuple(allowed or ())
        if allowed and msgtype not in allowed:
            raise UnsupportedImageError(
                f"topic {topic} holds {msgtype}, unsupported here; expected {' or '.join(allowed)}"
            )
        return msgtype

    def count(self, topic: str) -> int:
        return self.topics().get(topic, ("", 0))[1]

    def messages(self, topics: Iterable[str] | None = None) -> Iterator[BagMessage]:
        """Serialized messages of ``topics`` (all when None) in bag-timestamp order.

        Raises:
            BagError: the bag is corrupt or truncated where it is read.
        """
        wanted = None if topics is None else set(topics)
        connections = [c for c in self.reader.connections if wanted is None or c.topic in wanted]
        if not connections:
            return
        stream = self.reader.messages(connections=connections)
        while True:
            try:
                connection, timestamp, data = next(stream)
            except StopIteration:
                return
            except Exception as exc:  # storage-level failure: chunk, CRC, sqlite page...
                raise BagError(
                    f"bag {self.path} is corrupt or truncated: {_one_line(exc)}"
                ) from exc
            yield BagMessage(connection.topic, connection.msgtype, timestamp, data)

    def deserialize(self, message: BagMessage) -> Any:
        """The message object (fields as attributes; arrays as NumPy).

        Raises:
            MessageDecodeError: this message's bytes do not fit its type.
        """
        try:
            return self.reader.deserialize(message.data, message.msgtype)
        except Exception as exc:
            raise MessageDecodeError(
                f"undecodable {message.msgtype} message at {message.timestamp} ns on "
                f"{message.topic}: {_one_line(exc)}"
            ) from exc

    def cdr_converter(self, msgtype: str) -> Callable[[bytes | memoryview], bytes]:
        """A function turning this bag's serialized ``msgtype`` into ROS 2 CDR bytes (what
        a ROS 2 publisher sends): identity for rosbag2, a conversion for ROS 1 bags.

        Raises:
            UnsupportedImageError: a ROS 1 type with no ROS 2 counterpart known to rosbags.
        """
        if not self.is_ros1:
            return bytes
        from rosbags.convert.converter import generate_message_converter

        target = ros2_typestore()
        if msgtype not in target.types:
            raise UnsupportedImageError(
                f"unsupported message type {msgtype}: no ROS 2 definition to convert it to"
            )
        convert = generate_message_converter(
            self.typestore, target, msgtype, msgtype, {}, src_is2=False, dst_is2=True
        )
        return lambda data: bytes(convert(data))


def image_topics(bag: BagReader) -> list[str]:
    """The topics of ``bag`` holding ``Image`` or ``CompressedImage`` messages."""
    return [topic for topic, (msgtype, _) in bag.topics().items() if msgtype in IMAGE_TYPES]


def the_image_topic(
    bag: BagReader, label_topic: str | None = None, option: str = "--image-topic"
) -> str:
    """The bag's one image topic besides ``label_topic``; ``BagError`` naming the
    candidates when there are none or several (the user then picks one with ``option``)."""
    candidates = [t for t in image_topics(bag) if t != label_topic]
    if len(candidates) != 1:
        raise BagError(f"bag {bag.path} has image topics {candidates}: choose one with {option}")
    return candidates[0]


def read_labels(bag: BagReader, topic: str) -> tuple[dict[Stamp, np.ndarray], list[str]]:
    """All label images of ``topic`` by header stamp, and why any were skipped."""
    bag.topic_type(topic, (IMAGE_TYPE,))
    labels: dict[Stamp, np.ndarray] = {}
    skipped: list[str] = []
    for message in bag.messages([topic]):
        try:
            msg = bag.deserialize(message)
            labels[Stamp.of(msg)] = message_to_label(msg, message.msgtype).copy()
        except FRAME_ERRORS as exc:
            skipped.append(str(exc))
    return labels, skipped


def read_frames(
    bag: BagReader, image_topic: str, label_topic: str | None = None, limit: int | None = None
) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """``[(stamp, rgb, label or None), ...]`` of the first ``limit`` decodable frames, labels
    matched by header stamp (frames that fail to decode are left out)."""
    bag.topic_type(image_topic, IMAGE_TYPES)
    labels = read_labels(bag, label_topic)[0] if label_topic is not None else {}
    frames = []
    for message in bag.messages([image_topic]):
        if limit is not None and len(frames) >= limit:
            break
        try:
            msg = bag.deserialize(message)
            rgb = message_to_rgb(msg, message.msgtype)
        except FRAME_ERRORS:
            continue
        stamp = Stamp.of(msg)
        frames.append((str(stamp), rgb, labels.get(stamp)))
    return frames
