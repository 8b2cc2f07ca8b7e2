"""Header stamps (``builtin_interfaces/Time``) as values, and the frame file names made
from them (no ROS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Stamp", "frame_name"]


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


def frame_name(stamp: Stamp, suffix: str = "png") -> str:
    """A frame file's name, ``<sec>_<nanosec, 9 digits>.<suffix>``: ``bag-extract`` and the
    uncertain-frame saver name theirs so, by header stamp."""
    return f"{stamp.sec}_{stamp.nanosec:09d}.{suffix}"
