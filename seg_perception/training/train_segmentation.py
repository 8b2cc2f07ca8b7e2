"""Train a segmentation model on CamVid or a dataset spec: ``seg-perception train --config
CONFIG [--data SPEC] [--init bundled]``.

Follows torchvision's references/segmentation: ``criterion``, ``train_one_epoch``,
``evaluate``, ``main``. Checkpoints (``last.pt`` every epoch, ``best.pt`` on the best
validation mIoU) carry model, optimizer, scheduler, epoch and config, so a run
resumes with ``--resume``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from ..classes import ClassSet
from ..data import EvalTransform, LabelledData, SegmentationFrames, TrainTransform
from ..evaluation.metrics import ConfusionMatrix
from ..models import build_model
from .config import TrainConfig
from .distributed import DistContext, init_distributed, unwrap, weights_digest
from .epoch_loop import EpochRun, Validation, run_epochs
from .losses import build_criterion
from .run_state import start_run
from .schedules import warmup_cosine
from .segmentation_setup import (
    build_optimizer,
    check_data,
    class_weights,
    load_initial_weights,
    train_loader,
)

__all__ = ["train", "evaluate", "train_one_epoch"]


def _autocast(device: torch.device, enabled: bool):
    """bf16 autocast on CUDA where supported (fp16 otherwise); a no-op elsewhere."""
    if not enabled or device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def train_one_epoch(
    model: nn.Module,
    criterion: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
    epoch: int,
    amp: bool = False,
    scaler: torch.amp.GradScaler | None = None,
    show_progress: bool = True,
) -> float:
    """One pass over ``loader``; returns the mean loss (of this process's share)."""
    model.train()
    total, count = 0.0, 0
    progress = tqdm(
        loader, desc=f"epoch {epoch}", leave=False, dynamic_ncols=True, disable=not show_progress
    )
    for images, labels in progress:
        images = images.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        labels = labels.to(device, non_blocking=True)
        with _autocast(device, amp):
            loss = criterion(model(images)["out"].float(), labels)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        scheduler.step()
        total += loss.item() * images.shape[0]
        count += images.shape[0]
        progress.set_postfix(loss=f"{loss.item():.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
    return total / max(count, 1)


@torch.inference_mode()
def evaluate(
    model: nn.Module, dataset: SegmentationFrames, device: torch.device
) -> ConfusionMatrix:
    """Full-resolution, one frame at a time; returns the confusion matrix."""
    model.eval()
    confusion = ConfusionMatrix(dataset.classes.num_classes)
    for index in tqdm(range(len(dataset)), desc="validate", leave=False, dynamic_ncols=True):
        image, label = dataset[index]
        batch = image.unsqueeze(0).to(device).contiguous(memory_format=torch.channels_last)
        confusion.update(label, model(batch)["out"].argmax(1)[0])
    return confusion


def _payload(config: TrainConfig, model: nn.Module, classes: ClassSet) -> dict:
    return {
        "model_name": config.model,
        "model_kwargs": dict(config.model_kwargs),
        "class_names": list(classes.names),
        "palette": [list(c) for c in classes.colors],
        "state_dict": unwrap(model).state_dict(),
        "config": dataclasses.asdict(config),
    }


def train(
    config: TrainConfig, data: LabelledData, resume: bool = False, device: str = "auto"
) -> Path:
    """Run (or resume) training on ``data`` (``open_labelled_data``); returns the path of
    the best checkpoint. A dataset spec is checked first (``dataset check``): training
    refuses its first problem before anything is written.

    Under ``torchrun --nproc_per_node N`` it trains data-parallel: each process takes
    ``batch_size`` frames a step, rank 0 validates, logs and writes checkpoints.
    """
    dev = start_run(config.seed, config.threads, device)
    ctx = init_distributed(dev)
    if ctx.enabled and dev.type == "cuda":
        dev = torch.device("cuda", ctx.local_rank)
    try:
        return _train(config, data, resume, dev, ctx)
    finally:
        ctx.close()


def _train(
    config: TrainConfig, data: LabelledData, resume: bool, dev: torch.device, ctx: DistContext
) -> Path:
    check_data(data, config)
    classes = data.classes
    rng = np.random.default_rng([config.seed, ctx.rank])
    train_set = SegmentationFrames(
        data,
        config.train_split,
        TrainTransform(config.crop_size, config.scale_range, config.color_jitter, rng),
        limit=config.train_limit,
        size=config.frame_size,
    )
    val_set = SegmentationFrames(
        data, "val", EvalTransform(), limit=config.val_limit, size=config.frame_size
    )
    out_dir = Path(config.out_dir)
    ignored = classes.ids_of(config.ignore_classes) if config.ignore_classes else []
    train_set.ignore_classes(ignored)  # before the class weights are counted
    val_set.ignore_classes(ignored)
    loader = train_loader(train_set, config, ctx)
    model = build_model(
        config.model, classes.num_classes, pretrained=config.pretrained, **config.model_kwargs
    )
    if config.init_checkpoint and not (resume and (out_dir / "last.pt").is_file()):
        load_initial_weights(model, config, classes)  # a fresh run (or nothing to resume)
    model = model.to(dev, memory_format=torch.channels_last)
    use_weights = config.loss != "ce" and config.class_weighting != "none"
    weights = class_weights(train_set, config) if use_weights else None
    criterion = build_criterion(
        config.loss,
        weights,
        threshold=config.bootstrap_threshold,
        min_fraction=config.bootstrap_min_fraction,
    ).to(dev)
    optimizer = build_optimizer(model, config)
    steps = len(loader)
    schedule = warmup_cosine(config.warmup_epochs * steps, config.epochs * steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    use_scaler = config.amp and dev.type == "cuda" and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda") if use_scaler else None
    if ctx.enabled:
        model = DistributedDataParallel(
            model, device_ids=[dev.index] if dev.type == "cuda" else None
        )

    def train_epoch(epoch: int) -> dict[str, float]:
        if isinstance(loader.sampler, DistributedSampler):
            loader.sampler.set_epoch(epoch)
        loss = train_one_epoch(
            model,
            criterion,
            loader,
            optimizer,
            scheduler,
            dev,
            epoch,
            amp=config.amp,
            scaler=scaler,
            show_progress=ctx.is_main,
        )
        return {"loss": round(loss, 5)}

    def validate() -> dict[str, float]:
        confusion = evaluate(unwrap(model), val_set, dev)
        return {
            "val_miou": round(confusion.mean_iou(), 5),
            "val_pixel_acc": round(confusion.pixel_accuracy(), 5),
        }

    payload = partial(_payload, config, model, classes)
    run = EpochRun(config, out_dir, model, optimizer, scheduler, payload, ctx=ctx)
    validation = Validation(
        validate, ("val_miou", "val_pixel_acc"), config.eval_every, config.select_on_val
    )
    best_path = run_epochs(run, train_epoch, resume, validation)
    if ctx.enabled:
        # DDP keeps parameters equal (gradients all-reduced); buffers follow rank 0. Each
        # rank prints its digest so a run (and the test) can see that the replicas agree.
        ctx.sync_buffers(model)
        tqdm.write(f"rank {ctx.rank}/{ctx.world_size} weights sha256 {weights_digest(model)}")
    return best_path
