"""Data-parallel training under ``torchrun``: process group, sampler, rank-0 duties.

``torchrun --nproc_per_node N`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; a plain
run has none of them and gets a one-process context, so trainers call the same code
either way. Backend: NCCL on CUDA, gloo on the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..inference.onnx_cache import weights_sha256

__all__ = ["DistContext", "init_distributed", "weights_digest", "unwrap"]


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in a data-parallel run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 logs, evaluates and writes checkpoints."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def broadcast_flag(self, flag: bool) -> bool:
        """Rank 0's ``flag`` on every rank (e.g. "out of time", so all ranks stop together)."""
        if not self.enabled:
            return flag
        value = torch.tensor([int(flag)], dtype=torch.int64)
        if dist.get_backend() == "nccl":
            value = value.cuda()
        dist.broadcast(value, src=0)
        return bool(value.item())

    def sync_buffers(self, model: nn.Module) -> None:
        """Copy rank 0's buffers (BN running statistics) to every rank.

        DDP broadcasts them before each forward, so after the last step each rank still
        holds the statistics of its own last batch; rank 0's are the ones checkpointed.
        """
        if self.enabled:
            for buffer in unwrap(model).buffers():
                dist.broadcast(buffer.data, src=0)

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


def init_distributed(device: torch.device) -> DistContext:
    """Join the process group when launched by ``torchrun``; else a one-process context."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank, world_size, local_rank)


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a ``DistributedDataParallel`` wrapper (or the model itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def weights_digest(model: nn.Module) -> str:
    """SHA-256 over every parameter and buffer, in key order: equal digests, equal weights."""
    return weights_sha256(unwrap(model))
