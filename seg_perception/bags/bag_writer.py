"""Write rosbags atomically through ``rosbags`` (no ROS installation, no rclpy).

``BagWriter`` creates a rosbag2 folder (MCAP or sqlite3 storage), a bare ``.mcap`` or
``.db3`` file or a ROS 1 ``.bag``, with the message definitions embedded, inside a
hidden folder beside the target that is renamed into place only when the bag is
complete; on any error it is deleted, so no partial bag is left.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from rosbags.rosbag1 import Writer as Ros1Writer
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin
from rosbags.rosbag2 import Writer as Ros2Writer

from ..image_codec import RawImage
from .bag_formats import resolve_storage, ros1_typestore, ros2_typestore
from .image_messages import (
    COMPRESSED_TYPE,
    IMAGE_TYPE,
    BagError,
    Stamp,
    UnsupportedImageError,
)

__all__ = ["BagWriter"]

ROSBAG2_VERSION = 8  # rosbag2 metadata version of Jazzy; Kilted reads it too


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
        self.typestore = ros1_typestore() if self.storage == "ros1" else ros2_typestore()
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
