"""Bag formats: which bag a path names, and the message definitions of each format.

A rosbag2 bag is a folder with ``metadata.yaml`` (sqlite3 or MCAP storage) or a bare
``.db3`` or ``.mcap`` storage file; a ROS 1 bag is one ``.bag`` file. Both the reader
and the writer resolve paths here, so they agree on what a name means.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

from .image_messages import BagError

__all__ = [
    "STORAGES",
    "BAG_SUFFIXES",
    "ros2_typestore",
    "ros1_typestore",
    "resolve_bag_path",
    "resolve_storage",
]

STORAGES = ("mcap", "sqlite3", "ros1")
BAG_SUFFIXES = {".mcap": "mcap", ".db3": "sqlite3", ".bag": "ros1"}
# the definitions written into ROS 2 bags; Image and CompressedImage are the same in
# every distribution since Humble
ROS2_STORE = Stores.ROS2_KILTED


@cache
def ros2_typestore() -> Typestore:
    return get_typestore(ROS2_STORE)


@cache
def ros1_typestore() -> Typestore:
    return get_typestore(Stores.ROS1_NOETIC)


def resolve_bag_path(path: str | os.PathLike) -> Path:
    """The path ``rosbags`` should open to read the bag at ``path``, or a one-line error."""
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
