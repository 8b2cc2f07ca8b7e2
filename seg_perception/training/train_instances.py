"""Train Mask R-CNN (L_cls + L_box + L_mask, plus the RPN's two losses) on CamVid instances.

Resumes from ``<out_dir>/last.pt`` with ``--resume``. No validation split is held
out (the backbone's encoder was trained on train+val already): the final epoch is
the result, scored on test by ``eval-instances``.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..checkpoint import MOBILENET_CHECKPOINT, load_checkpoint
from ..classes import CAMVID
from ..instances.dataset import CamVidInstances, collate_detection
from ..instances.maskrcnn import MASKRCNN, build_maskrcnn, load_encoder_into_backbone
from .epoch_loop import EpochRun, run_epochs
from .instance_config import InstanceTrainConfig
from .run_state import start_run
from .schedules import warmup_cosine

__all__ = ["train_instances"]


def _payload(config: InstanceTrainConfig, model: torch.nn.Module) -> dict:
    return {
        "model_name": MASKRCNN,
        "model_kwargs": dict(config.model_kwargs),
        "class_names": list(CAMVID.names),
        "palette": [list(c) for c in CAMVID.colors],
        "thing_classes": list(config.thing_classes),
        "min_area": config.min_area,
        "state_dict": model.state_dict(),
        "config": dataclasses.asdict(config),
    }


def train_instances(
    config: InstanceTrainConfig, data_root: Path, resume: bool = False, device: str = "auto"
) -> Path:
    """Run (or resume) training; returns ``<out_dir>/final.pt``."""
    dev = start_run(config.seed, config.threads, device)
    class_ids = CAMVID.ids_of(config.thing_classes)
    dataset = CamVidInstances(
        data_root,
        config.train_split,
        class_ids,
        config.min_area,
        hflip=config.hflip,
        limit=config.train_limit,
        seed=config.seed,
    )
    loader = DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=True,
        collate_fn=collate_detection,
        generator=torch.Generator().manual_seed(config.seed),
    )
    model = build_maskrcnn(len(class_ids), **config.model_kwargs)
    if config.init_segmentation:
        path = (
            MOBILENET_CHECKPOINT
            if config.init_segmentation == "default"
            else Path(config.init_segmentation)
        )
        copied = load_encoder_into_backbone(model, load_checkpoint(path)["state_dict"])
        if copied == 0:
            raise ValueError(f"{path} has no MobileNetV3-Large encoder to start the backbone")
        tqdm.write(f"backbone: {copied} tensors from {path}")
    model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    total_steps = config.epochs * len(loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(config.warmup_steps, total_steps)
    )

    def train_epoch(epoch: int) -> dict[str, float]:
        model.train()
        sums: dict[str, float] = {}
        steps = 0
        progress = tqdm(loader, desc=f"epoch {epoch}", leave=False, dynamic_ncols=True)
        for images, targets in progress:
            images = [image.to(dev) for image in images]
            targets = [{k: v.to(dev) for k, v in t.items()} for t in targets]
            losses = model(images, targets)
            loss = sum(losses.values())
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            scheduler.step()
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + value.item()
            steps += 1
            progress.set_postfix(loss=f"{loss.item():.3f}")
        return {
            "loss": round(sum(sums.values()) / max(steps, 1), 5),
            **{name: round(total / max(steps, 1), 5) for name, total in sums.items()},
        }

    payload = partial(_payload, config, model)
    run = EpochRun(config, Path(config.out_dir), model, optimizer, scheduler, payload)
    return run_epochs(run, train_epoch, resume)
