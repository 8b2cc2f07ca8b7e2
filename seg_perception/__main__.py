"""``python -m seg_perception <verb>``."""

from .cli import entry

entry()
