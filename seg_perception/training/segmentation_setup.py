"""What a segmentation run is built from before its first epoch: the dataset check, the
class weights, the initial (fine-tuning) weights, the optimizer and the training loader."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from ..checkpoint import DEFAULT_CHECKPOINT, load_model
from ..classes import ClassSet
from ..data import LabelledData, SegmentationFrames
from ..data.dataset_check import check_dataset
from .class_transfer import transfer_weights
from .config import TrainConfig
from .distributed import DistContext
from .losses import class_frequencies, enet_weights, median_frequency_weights

__all__ = [
    "check_data",
    "class_weights",
    "initial_checkpoint",
    "load_initial_weights",
    "build_optimizer",
    "train_loader",
]


def check_data(data: LabelledData, config: TrainConfig) -> None:
    """``dataset check`` of the splits this run reads; its warnings are printed, its
    first error refuses the run."""
    spec = getattr(data, "spec", None)
    if spec is None:
        return  # the built-in CamVid
    used = (*config.train_split.split("+"), "val")
    report = check_dataset(spec, progress=False, splits=used)
    for warning in report.warnings:
        tqdm.write(f"dataset {spec.name}: warning: {warning}")
    if not report.ok:
        raise ValueError(
            f"dataset {spec.name}: {report.errors[0]} ({len(report.errors)} problems; "
            "seg-perception dataset check lists them)"
        )


def class_weights(dataset: SegmentationFrames, config: TrainConfig) -> torch.Tensor:
    """Loss weights from the training frames' pixel counts (``class_weighting``)."""
    class_pixels, image_pixels = class_frequencies(dataset.labels, dataset.classes.num_classes)
    if config.class_weighting == "enet":
        weights = enet_weights(class_pixels)
    else:
        weights = median_frequency_weights(class_pixels, image_pixels)
    return torch.as_tensor(weights, dtype=torch.float32)


def initial_checkpoint(name: str) -> str:
    """``bundled`` is the bundled model's checkpoint; anything else a path."""
    return str(DEFAULT_CHECKPOINT) if name == "bundled" else name


def load_initial_weights(model: nn.Module, config: TrainConfig, classes: ClassSet) -> None:
    """Fine-tuning start: every weight of a checkpoint of the same model; the rows of
    classes it shares by name with ``classes`` (new classes start fresh)."""
    path = initial_checkpoint(config.init_checkpoint or "")
    source, state = load_model(path)
    if state["model_name"] != config.model or dict(state["model_kwargs"]) != dict(
        config.model_kwargs
    ):
        raise ValueError(
            f"init_checkpoint {path} holds {state['model_name']} {state['model_kwargs']}, "
            f"not {config.model} {config.model_kwargs}: set model and model_kwargs to match"
        )
    source_names = tuple(state["class_names"])
    transfer = transfer_weights(
        model,
        config.model,
        dict(config.model_kwargs),
        source.state_dict(),
        source_names,
        classes.names,
    )
    if not transfer.carried:
        tqdm.write(f"warning: {path} shares no class name with the dataset; all classes are new")
    tqdm.write(f"initial weights from {path}; {transfer.summary()}")


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; the encoder gets ``encoder_lr`` (pretrained weights move slower) when set."""
    encoder = getattr(model, "encoder", None)
    if config.encoder_lr is None or encoder is None:
        groups = [{"params": list(model.parameters())}]
    else:
        encoder_ids = {id(p) for p in encoder.parameters()}
        groups = [
            {"params": list(encoder.parameters()), "lr": config.encoder_lr},
            {"params": [p for p in model.parameters() if id(p) not in encoder_ids]},
        ]
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)


def train_loader(
    train_set: SegmentationFrames, config: TrainConfig, ctx: DistContext
) -> DataLoader:
    """Shuffled batches of ``batch_size`` per process (a ``DistributedSampler`` under DDP)."""
    sampler = (
        DistributedSampler(train_set, ctx.world_size, ctx.rank, shuffle=True, seed=config.seed)
        if ctx.enabled
        else None
    )
    return DataLoader(
        train_set,
        batch_size=config.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        drop_last=len(train_set) >= config.batch_size * ctx.world_size,
        num_workers=config.workers,
        worker_init_fn=lambda worker: setattr(
            train_set.transform,
            "rng",
            np.random.default_rng([config.seed, ctx.rank, worker, torch.initial_seed() % 2**31]),
        ),
        persistent_workers=config.workers > 0,
        generator=torch.Generator().manual_seed(config.seed),
    )
