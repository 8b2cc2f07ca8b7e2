"""Read and write rosbags through ``rosbags`` (no ROS installation, no rclpy).

Reading: a rosbag2 folder (``metadata.yaml`` plus sqlite3 or MCAP storage), a bare
``.db3`` or ``.mcap`` file, or a ROS 1 ``.bag``. Image messages are decoded with the
same field codecs as the node (``seg_perception.image_codec``).

Writing: ``BagWriter`` creates a rosbag2 folder (MCAP or sqlite3 storage), a bare
``.mcap`` or ``.db3`` file or a ROS 1 ``.bag``, with the message definitions
embedded, inside a hidden folder beside the target that is renamed into place only
when the bag is complete; on any error it is deleted, so no partial bag is left.

Every problem with a bag (missing, unreadable, corrupt or truncated, unknown topic,
unsupported type or encoding) raises an error with a one-line message.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from rosbags.highlevel import AnyReader
from rosbags.rosbag1 import Writer as Ros1Writer
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin
from rosbags.rosbag2 import Writer as Ros2Writer
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

from ..image_codec import (
    SUPPORTED_INPUT_ENCODINGS,
    ImageDecodeError,
    RawImage,
    decode_compressed,
    decode_raw,
    to_rgb,
)

__all__ = [
    "IMAGE_TYPE",
    "COMPRESSED_TYPE",
    "IMAGE_TYPES",
    "LABEL_ENCODINGS",
    "STORAGES",
    "BagError",
    "MessageDecodeError",
    "FRAME_ERRORS",
    "UnsupportedImageError",
    "Stamp",
    "BagMessage",
    "BagReader",
    "BagWriter",
    "message_to_rgb",
    "message_to_label",
    "image_topics",
    "read_labels",
    "read_frames",
    "ros2_typestore",
]

IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
IMAGE_TYPES = (IMAGE_TYPE, COMPRESSED_TYPE)
LABEL_ENCODINGS = ("mono8", "8UC1")  # one byte per pixel: the class id
STORAGES = ("mcap", "sqlite3", "ros1")
BAG_SUFFIXES = {".mcap": "mcap", ".db3": "sqlite3", ".bag": "ros1"}
# the definitions written into ROS 2 bags; Image and CompressedImage are the same in
# every distribution since Humble
ROS2_STORE = Stores.ROS2_KILTED
ROSBAG2_VERSION = 8  # rosbag2 metadata version of Jazzy; Kilted reads it too


class BagError(ValueError):
    """The bag cannot be used as asked; the message (one line) says why."""


class UnsupportedImageError(BagError):
    """A message type, encoding or compressed format the pipeline cannot take."""


class MessageDecodeError(ValueError):
    """One message cannot be deserialized (the rest of the bag may be fine)."""


FRAME_ERRORS = (MessageDecodeError, ImageDecodeError)
"""Errors of one frame, which bag tools skip and count (never the bag-level ones)."""


def _one_line(exc: BaseException) -> str:
    """The error on one line; rosbags' own messages need no class name in front."""
    text = " ".join(str(exc).split())
    if text and type(exc).__module__.startswith("rosbags"):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@cache
def ros2_typestore() -> Typestore:
    return get_typestore(ROS2_STORE)


@cache
def _ros1_typestore() -> Typestore:
    return get_typestore(Stores.ROS1_NOETIC)


@dataclass(frozen=True, order=True)
class Stamp:
    """A ``builtin_interfaces/Time`` (header stamp)."""

    sec: int
    nanosec: int

    @classmethod
    def from_ns(cls, nanoseconds: int) -> Stamp:
        return cls(*divmod(int(nanoseconds), 1_000_000_000))

    @classmethod
    def of(cls, msg: Any) -> Stamp:
        """The header stamp of a deserialized message."""
        return cls(int(msg.header.stamp.sec), int(msg.header.stamp.nanosec))

    @property
    def ns(self) -> int:
        return self.sec * 1_000_000_000 + self.nanosec

    def __str__(self) -> str:
        return f"{self.sec}.{self.nanosec:09d}"


@dataclass(frozen=True)
class BagMessage:
    """One serialized message as stored: topic, type, bag timestamp (ns), bytes."""

    topic: str
    msgtype: str
    timestamp: int
    data: bytes | memoryview


# ------------------------------------------------------------------ decoding images


def _check_compressed_format(image_format: str) -> None:
    fmt = image_format.lower()
    if "compresseddepth" in fmt or (fmt and not any(k in fmt for k in ("jpeg", "jpg", "png"))):
        raise UnsupportedImageError(
            f"unsupported compressed image format {image_format!r}; expected jpeg or png"
        )


def _raw_fields(msg: Any, encoding: str | None = None) -> RawImage:
    return RawImage(
        int(msg.height),
        int(msg.width),
        encoding or msg.encoding,
        int(msg.step),
        np.asarray(msg.data, dtype=np.uint8).tobytes(),
        bool(msg.is_bigendian),
    )


def message_to_rgb(msg: Any, msgtype: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an ``Image`` or ``CompressedImage``, decoded like the node does.

    Raises:
        UnsupportedImageError: a type, encoding or format no frame of it can be decoded in.
        ImageDecodeError: this frame is malformed (wrong size, truncated, undecodable).
    """
    if msgtype == COMPRESSED_TYPE:
        _check_compressed_format(msg.format)
        return decode_compressed(np.asarray(msg.data, dtype=np.uint8).tobytes(), msg.format)
    if msgtype != IMAGE_TYPE:
        raise UnsupportedImageError(
            f"unsupported message type {msgtype}; expected {' or '.join(IMAGE_TYPES)}"
        )
    if msg.encoding not in SUPPORTED_INPUT_ENCODINGS:
        raise UnsupportedImageError(
            f"unsupported image encoding {msg.encoding!r}; expected one of "
            f"{', '.join(SUPPORTED_INPUT_ENCODINGS)}"
        )
    return to_rgb(decode_raw(_raw_fields(msg), SUPPORTED_INPUT_ENCODINGS), msg.encoding)


def message_to_label(msg: Any, msgtype: str) -> np.ndarray:
    """(H, W) uint8 class ids of a mono8 (or 8UC1) ``Image``.

    Raises:
        UnsupportedImageError: not an ``Image``, or not one byte per pixel.
        ImageDecodeError: this label image is malformed.
    """
    if msgtype != IMAGE_TYPE:
        raise UnsupportedImageError(
            f"unsupported label message type {msgtype}; expected {IMAGE_TYPE} (mono8 class ids)"
        )
    if msg.encoding not in LABEL_ENCODINGS:
        raise UnsupportedImageError(
            f"unsupported label encoding {msg.encoding!r}; expected mono8 class ids"
        )
    return decode_raw(_raw_fields(msg, "mono8"), ("mono8",))


# ------------------------------------------------------------------ reading


def _resolve_bag_path(path: str | os.PathLike) -> Path:
    """The path ``rosbags`` should open, or a one-line error."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"bag {path} not found")
    if path.is_dir():
        if (path / "metadata.yaml").is_file():
            return path
        # a recording that ended without writing metadata.yaml: its one storage file
        storage_files = sorted([*path.glob("*.mcap"), *path.glob("*.db3")])
        if len(storage_files) == 1:
            return storage_files[0]
        raise BagError(f"{path} is a folder without metadata.yaml: not a rosbag2 bag")
    if path.suffix not in BAG_SUFFIXES:
        raise BagError(
            f"{path}: unknown bag format {path.suffix or '(no suffix)'!r}; expected a rosbag2 "
            "folder, a .mcap or .db3 file, or a ROS 1 .bag"
        )
    return path


class BagReader:
    """Any rosbag, opened with ``with BagReader(path) as bag:``.

    Args:
        path: rosbag2 folder, ``.mcap``, ``.db3`` or ROS 1 ``.bag``.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = _resolve_bag_path(path)
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

    def cdr_converter(self, msgtype: str):
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


# ------------------------------------------------------------------ writing


def resolve_storage(out: Path, storage: str | None) -> tuple[str, bool]:
    """``(storage, bare_file)`` for output path ``out``: ``.mcap``/``.db3``/``.bag`` name a
    bare file of that storage; any other name is a rosbag2 folder (MCAP unless
    ``storage`` says otherwise)."""
    implied = BAG_SUFFIXES.get(out.suffix)
    if storage is not None and storage not in STORAGES:
        raise ValueError(f"unknown storage {storage!r}; choose from {', '.join(STORAGES)}")
    if implied is None:
        if storage == "ros1":
            raise ValueError(f"a ROS 1 bag is one file: name it {out.name}.bag")
        return storage or "mcap", False
    if storage is not None and storage != implied:
        raise ValueError(f"output {out.name} names a {implied} bag, but {storage} was asked for")
    return implied, True


class BagWriter:
    """Writes a bag atomically: ``with BagWriter(out) as bag: bag.add_topic(...)``.

    Args:
        out: ``*.mcap`` or ``*.db3`` (a bare rosbag2 storage file), ``*.bag`` (ROS 1), or
            any other name for a rosbag2 folder with ``metadata.yaml``.
        storage: ``mcap``, ``sqlite3`` or ``ros1``; implied by the suffix of ``out``.
        compress: zstd chunk compression (MCAP only).
        overwrite: replace an existing ``out`` (otherwise that is an error).
    """

    def __init__(
        self,
        out: str | os.PathLike,
        storage: str | None = None,
        *,
        compress: bool = False,
        overwrite: bool = False,
    ):
        self.out = Path(out).expanduser()
        self.storage, self.bare_file = resolve_storage(self.out, storage)
        if compress and self.storage != "mcap":
            raise ValueError(f"compression needs MCAP storage, not {self.storage}")
        self.compress = compress
        self.overwrite = overwrite
        self.typestore = _ros1_typestore() if self.storage == "ros1" else ros2_typestore()
        self.counts: dict[str, int] = {}
        self._connections: dict[str, Any] = {}
        self._types: dict[str, str] = {}
        self._writer: Ros1Writer | Ros2Writer | None = None
        self._staging: Path | None = None

    # --- lifecycle

    def __enter__(self) -> BagWriter:
        if self.out.exists() and not self.overwrite:
            raise FileExistsError(f"{self.out} exists; remove it or choose another output")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._staging = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))
        try:
            self._writer = self._open_writer()
        except BaseException:
            shutil.rmtree(self._staging, ignore_errors=True)
            raise
        return self

    def _open_writer(self) -> Ros1Writer | Ros2Writer:
        assert self._staging is not None
        if self.storage == "ros1":
            writer = Ros1Writer(self._staging / self.out.name)
        else:
            folder_name = self.out.stem if self.bare_file else self.out.name
            plugin = StoragePlugin.MCAP if self.storage == "mcap" else StoragePlugin.SQLITE3
            writer = Ros2Writer(
                self._staging / folder_name, version=ROSBAG2_VERSION, storage_plugin=plugin
            )
            if self.compress:
                writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        writer.open()
        return writer

    def _produced(self) -> Path:
        """What the writer made inside the staging folder and becomes ``out``."""
        assert self._staging is not None
        if self.storage == "ros1":
            return self._staging / self.out.name
        if self.bare_file:
            return self._staging / self.out.stem / self.out.name
        return self._staging / self.out.name

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        writer, self._writer = self._writer, None
        staging = self._staging
        assert writer is not None and staging is not None
        try:
            if exc_type is not None:
                writer.abort()
                return
            writer.close()
            produced = self._produced()
            if self.out.exists():  # --overwrite: move the old one aside, then replace it
                os.replace(self.out, staging / ".replaced")
            os.replace(produced, self.out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # --- topics and messages

    def add_topic(self, topic: str, msgtype: str) -> None:
        """Declare ``topic`` (its definition is embedded in the bag)."""
        if topic in self._connections:
            if self._types[topic] != msgtype:
                raise BagError(f"topic {topic} already holds {self._types[topic]}, not {msgtype}")
            return
        if msgtype not in self.typestore.types:
            raise UnsupportedImageError(
                f"unsupported message type {msgtype} on {topic}: no definition known to rosbags"
            )
        assert self._writer is not None, "add_topic outside the 'with' block"
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=self.typestore
        )
        self._types[topic] = msgtype
        self.counts[topic] = 0

    def write(self, topic: str, timestamp: int, message: Any) -> None:
        """Serialize ``message`` (built with ``self.typestore``) onto ``topic``."""
        msgtype = self._types[topic]
        if self.storage == "ros1":
            data = self.typestore.serialize_ros1(message, msgtype)
        else:
            data = self.typestore.serialize_cdr(message, msgtype)
        self.write_serialized(topic, timestamp, data)

    def write_serialized(self, topic: str, timestamp: int, data: bytes | memoryview) -> None:
        """Write bytes already serialized for this bag (CDR for rosbag2)."""
        assert self._writer is not None, "write outside the 'with' block"
        self._writer.write(self._connections[topic], int(timestamp), data)
        self.counts[topic] += 1

    # --- message construction

    def header(self, stamp: Stamp, frame_id: str) -> Any:
        types = self.typestore.types
        time = types["builtin_interfaces/msg/Time"](sec=stamp.sec, nanosec=stamp.nanosec)
        if self.storage == "ros1":
            return types["std_msgs/msg/Header"](seq=0, stamp=time, frame_id=frame_id)
        return types["std_msgs/msg/Header"](stamp=time, frame_id=frame_id)

    def image(self, stamp: Stamp, frame_id: str, fields: RawImage) -> Any:
        """A ``sensor_msgs/Image`` from ``image_codec.encode_raw`` fields."""
        return self.typestore.types[IMAGE_TYPE](
            header=self.header(stamp, frame_id),
            height=fields.height,
            width=fields.width,
            encoding=fields.encoding,
            is_bigendian=int(fields.is_bigendian),
            step=fields.step,
            data=np.frombuffer(fields.data, dtype=np.uint8),
        )

    def compressed_image(self, stamp: Stamp, frame_id: str, data: bytes, image_format: str) -> Any:
        """A ``sensor_msgs/CompressedImage`` (``image_format``: jpeg or png)."""
        return self.typestore.types[COMPRESSED_TYPE](
            header=self.header(stamp, frame_id),
            format=image_format,
            data=np.frombuffer(data, dtype=np.uint8),
        )


def image_topics(bag: BagReader) -> list[str]:
    """The topics of ``bag`` holding ``Image`` or ``CompressedImage`` messages."""
    return [topic for topic, (msgtype, _) in bag.topics().items() if msgtype in IMAGE_TYPES]


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
