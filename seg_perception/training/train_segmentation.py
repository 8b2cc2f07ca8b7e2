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
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from ..checkpoint import DEFAULT_CHECKPOINT, load_checkpoint, load_model, save_checkpoint
from ..classes import ClassSet
from ..data import EvalTransform, LabelledData, SegmentationFrames, TrainTransform
from ..data.dataset_check import check_dataset
from ..evaluation.metrics import ConfusionMatrix
from ..models import build_model
from .class_transfer import transfer_weights
from .config import TrainConfig
from .distributed import DistContext, init_distributed, unwrap, weights_digest
from .losses import build_criterion, class_frequencies, enet_weights, median_frequency_weights
from .run_log import log_epoch
from .run_state import start_run

__all__ = ["train", "evaluate", "train_one_epoch"]


def _class_weights(dataset: SegmentationFrames, config: TrainConfig) -> torch.Tensor:
    class_pixels, image_pixels = class_frequencies(dataset.labels, dataset.classes.num_classes)
    if config.class_weighting == "enet":
        weights = enet_weights(class_pixels)
    else:
        weights = median_frequency_weights(class_pixels, image_pixels)
    return torch.as_tensor(weights, dtype=torch.float32)


def _lr_lambda(config: TrainConfig, steps_per_epoch: int):
    warmup = config.warmup_epochs * steps_per_epoch
    total = config.epochs * steps_per_epoch

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return factor


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


def initial_checkpoint(name: str) -> str:
    """``bundled`` is the bundled model's checkpoint; anything else a path."""
    return str(DEFAULT_CHECKPOINT) if name == "bundled" else name


def _load_initial_weights(model: nn.Module, config: TrainConfig, classes: ClassSet) -> None:
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


def _payload(config: TrainConfig, model: nn.Module, classes: ClassSet) -> dict:
    return {
        "model_name": config.model,
        "model_kwargs": dict(config.model_kwargs),
        "class_names": list(classes.names),
        "palette": [list(c) for c in classes.colors],
        "state_dict": unwrap(model).state_dict(),
        "config": dataclasses.asdict(config),
    }


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
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


def _train_loader(
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


def _check(data: LabelledData, config: TrainConfig) -> None:
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


def _train(
    config: TrainConfig, data: LabelledData, resume: bool, dev: torch.device, ctx: DistContext
) -> Path:
    _check(data, config)
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
    out_dir.mkdir(parents=True, exist_ok=True)
    ignored = classes.ids_of(config.ignore_classes) if config.ignore_classes else []
    train_set.ignore_classes(ignored)  # before the class weights are counted
    val_set.ignore_classes(ignored)
    loader = _train_loader(train_set, config, ctx)
    model = build_model(
        config.model, classes.num_classes, pretrained=config.pretrained, **config.model_kwargs
    )
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    if config.init_checkpoint and not (resume and last_path.is_file()):
        _load_initial_weights(
            model, config, classes
        )  # a fresh run (--resume with nothing to resume)
    model = model.to(dev, memory_format=torch.channels_last)
    use_weights = config.loss != "ce" and config.class_weighting != "none"
    weights = _class_weights(train_set, config) if use_weights else None
    criterion = build_criterion(
        config.loss,
        weights,
        threshold=config.bootstrap_threshold,
        min_fraction=config.bootstrap_min_fraction,
    ).to(dev)
    optimizer = _optimizer(model, config)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config, len(loader)))
    use_scaler = config.amp and dev.type == "cuda" and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda") if use_scaler else None

    start_epoch, best_miou, history = 0, -1.0, []
    if resume and last_path.is_file():
        state = load_checkpoint(last_path)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, best_miou = state["epoch"] + 1, state["best_score"]
        history = state.get("history", [])
        if ctx.is_main:
            tqdm.write(f"resumed from {last_path} at epoch {start_epoch}")
    if ctx.enabled:
        model = DistributedDataParallel(
            model, device_ids=[dev.index] if dev.type == "cuda" else None
        )

    started = time.monotonic()
    log_path = out_dir / "log.csv"
    for epoch in range(start_epoch, config.epochs):
        if isinstance(loader.sampler, DistributedSampler):
            loader.sampler.set_epoch(epoch)
        epoch_start = time.monotonic()
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
        row = {
            "epoch": epoch,
            "loss": round(loss, 5),
            "seconds": round(time.monotonic() - epoch_start, 1),
        }
        final = epoch == config.epochs - 1
        out_of_time = ctx.broadcast_flag(
            config.time_budget_minutes > 0
            and time.monotonic() - started > 60 * config.time_budget_minutes
        )
        if ctx.is_main:
            if (epoch + 1) % config.eval_every == 0 or final or out_of_time:
                confusion = evaluate(unwrap(model), val_set, dev)
                row["val_miou"] = round(confusion.mean_iou(), 5)
                row["val_pixel_acc"] = round(confusion.pixel_accuracy(), 5)
                if row["val_miou"] > best_miou or (
                    (final or out_of_time) and not config.select_on_val
                ):
                    best_miou = row["val_miou"]
                    save_checkpoint(
                        best_path,
                        {
                            **_payload(config, model, classes),
                            "epoch": epoch,
                            "best_score": best_miou,
                        },
                    )
            history.append(row)
            log_epoch(log_path, row, ["epoch", "loss", "seconds", "val_miou", "val_pixel_acc"])
            save_checkpoint(
                last_path,
                {
                    **_payload(config, model, classes),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "epoch": epoch,
                    "best_score": best_miou,
                    "history": history,
                },
            )
        ctx.barrier()
        if out_of_time:
            if ctx.is_main:
                tqdm.write(
                    f"time budget of {config.time_budget_minutes} min reached after epoch {epoch}"
                )
            break
    if ctx.enabled:
        # DDP keeps parameters equal (gradients all-reduced); buffers follow rank 0. Each
        # rank prints its digest so a run (and the test) can see that the replicas agree.
        ctx.sync_buffers(model)
        tqdm.write(f"rank {ctx.rank}/{ctx.world_size} weights sha256 {weights_digest(model)}")
    return best_path
