"""A one-line description of the machine, written next to every measured figure."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

__all__ = ["describe_machine"]


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def describe_machine(device: torch.device | str = "cpu") -> str:
    """E.g. ``AMD EPYC, 2 cores, torch 2.14.1 (2 threads), device cpu``."""
    text = (
        f"{_cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__.split('+')[0]} "
        f"({torch.get_num_threads()} threads), device {device}"
    )
    if str(device).startswith("cuda") and torch.cuda.is_available():
        text += f" ({torch.cuda.get_device_name(torch.device(device))})"
    return text
