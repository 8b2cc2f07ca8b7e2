"""``/proc/<pid>/status`` of a node process (Linux), for the tests' memory and thread checks."""

from __future__ import annotations

from pathlib import Path


def proc_status(pid: int) -> dict[str, str]:
    """The status fields of process ``pid`` (``Threads``, ``VmRSS``, ``VmHWM``, ...)."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {key: value.strip() for key, value in (line.split(":", 1) for line in lines)}


def status_bytes(pid: int, field: str) -> int:
    """A ``kB`` field of the status (``VmRSS``, ``VmHWM``) in bytes."""
    return int(proc_status(pid)[field].split()[0]) * 1024
