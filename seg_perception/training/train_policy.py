"""Train the driving policy on demonstrations: L_policy + lambda * L_seg.

Writes ``<out_dir>/last.pt`` every epoch (``--resume`` continues from it) and, at the
end, ``final.pt`` (the policy) and, when lambda > 0, ``segmentation.pt`` (its encoder
and auxiliary head as an ordinary zoo ``lraspp`` checkpoint over ``DRIVING_CLASSES``,
which the segmentation node and the bag pseudo-labeller load). The demonstrations' frames get
small brightness/contrast jitter and, with ``recolour`` > 0, class-wise road and grass
recolouring (``driving.recolour``); nothing is flipped (steering is not symmetric
under the indicator bar). ``episodes`` and ``steps_per_epoch`` fix the data and the
schedule independently (the auxiliary-loss experiment varies the first only).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from ..checkpoint import save_checkpoint
from ..classes import IGNORE_INDEX
from ..driving.demos import Demonstrations, load_demos
from ..driving.policy_model import POLICY_MODEL, DrivingPolicy
from ..driving.policy_runner import frames_to_batch
from ..driving.recolour import recolour_road_and_grass
from ..driving.sim_labels import DRIVING_CLASSES
from .epoch_loop import EpochRun, run_epochs
from .losses import class_frequencies, median_frequency_weights
from .policy_config import PolicyTrainConfig
from .run_state import start_run

__all__ = ["train_policy", "policy_loss"]


def policy_loss(
    predicted: torch.Tensor, target: torch.Tensor, steer_weight: float
) -> torch.Tensor:
    """Weighted MSE over ``[steer, gas, brake]``."""
    weights = torch.tensor([steer_weight, 1.0, 1.0], device=predicted.device)
    return ((predicted - target) ** 2 * weights).sum(dim=1).mean()


def _payload(config: PolicyTrainConfig, model: DrivingPolicy) -> dict:
    return {
        "model_name": POLICY_MODEL,
        "model_kwargs": dict(config.model_kwargs),
        "class_names": list(DRIVING_CLASSES.names),
        "palette": [list(c) for c in DRIVING_CLASSES.colors],
        "state_dict": model.state_dict(),
        "config": dataclasses.asdict(config),
        "seg_weight": config.seg_weight,
    }


def segmentation_payload(model: DrivingPolicy, payload: dict) -> dict:
    """The policy's encoder + auxiliary head as a zoo ``lraspp`` checkpoint."""
    kwargs = model.segmenter_kwargs
    return {
        "model_name": "lraspp",
        "model_kwargs": kwargs,
        "class_names": payload["class_names"],
        "palette": payload["palette"],
        "state_dict": {
            k[len("segmenter.") :]: v
            for k, v in payload["state_dict"].items()
            if k.startswith("segmenter.")
        },
        "source": "auxiliary head of a driving policy",
        "seg_weight": payload["seg_weight"],
    }


def _jitter(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Brightness and contrast jitter on normalised images."""
    n = batch.shape[0]
    contrast = 1 + 0.2 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)
    brightness = 0.2 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)
    return batch * contrast + brightness


def first_episodes(demos: Demonstrations, count: int) -> Demonstrations:
    """The frames of the first ``count`` episodes (in recording order); 0 = all."""
    order = list(dict.fromkeys(demos.episodes.tolist()))
    if count == 0:
        return demos
    if count > len(order):
        raise ValueError(f"asked for {count} episodes, the demonstrations hold {len(order)}")
    keep = np.isin(demos.episodes, order[:count])
    return Demonstrations(
        demos.frames[keep], demos.actions[keep], demos.labels[keep], demos.episodes[keep]
    )


def seg_class_weights(config: PolicyTrainConfig, labels: torch.Tensor) -> torch.Tensor | None:
    """Per-class weights of the auxiliary cross entropy, or None (unweighted)."""
    if config.seg_class_weights == "none":
        return None
    pixels, images = class_frequencies(labels.numpy(), DRIVING_CLASSES.num_classes)
    return torch.from_numpy(median_frequency_weights(pixels, images)).float()


def batch_order(
    frame_count: int, steps: int, batch_size: int, generator: torch.Generator
) -> torch.Tensor:
    """Frame indices for ``steps`` batches: shuffled passes, as many as it takes."""
    passes = -(-steps * batch_size // frame_count)
    return torch.cat([torch.randperm(frame_count, generator=generator) for _ in range(passes)])


def train_policy(config: PolicyTrainConfig, resume: bool = False, device: str = "auto") -> Path:
    """Run (or resume) training; returns ``<out_dir>/final.pt``."""
    dev = start_run(config.seed, config.threads, device)
    demos = first_episodes(load_demos(config.demos), config.episodes)
    keep = slice(None, None, config.frame_stride)
    frames = torch.from_numpy(np.ascontiguousarray(demos.frames[keep]))
    actions = torch.from_numpy(demos.actions[keep].astype(np.float32))
    labels = torch.from_numpy(demos.labels[keep].astype(np.int64))
    tqdm.write(
        f"{len(frames)} of {len(demos)} demonstration frames "
        f"({len(np.unique(demos.episodes))} episodes)"
    )

    model = DrivingPolicy(**config.model_kwargs).to(dev)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    steps_per_epoch = config.steps_per_epoch or max(1, len(frames) // config.batch_size)
    class_weights = seg_class_weights(config, labels)
    if class_weights is not None:
        tqdm.write(f"segmentation class weights {[round(w, 2) for w in class_weights.tolist()]}")
        class_weights = class_weights.to(dev)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=0.15
    )
    generator = torch.Generator().manual_seed(config.seed)

    def train_epoch(epoch: int) -> dict[str, float]:
        generator.manual_seed(config.seed * 1000 + epoch)  # same order when resumed
        order = batch_order(len(frames), steps_per_epoch, config.batch_size, generator)
        model.train()
        sums = {"policy": 0.0, "seg": 0.0}
        progress = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}", leave=False)
        for step in progress:
            index = order[step * config.batch_size : (step + 1) * config.batch_size]
            shown = recolour_road_and_grass(
                frames[index], labels[index], config.recolour, generator
            )
            images = _jitter(frames_to_batch(shown), generator).to(dev)
            out = model(images, with_segmentation=config.seg_weight > 0)
            loss_policy = policy_loss(out["action"], actions[index].to(dev), config.steer_weight)
            loss = loss_policy
            if config.seg_weight > 0:
                loss_seg = F.cross_entropy(
                    out["seg"],
                    labels[index].to(dev),
                    weight=class_weights,
                    ignore_index=IGNORE_INDEX,
                )
                loss = loss + config.seg_weight * loss_seg
                sums["seg"] += loss_seg.item()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            sums["policy"] += loss_policy.item()
            progress.set_postfix(policy=f"{loss_policy.item():.4f}")
        return {
            "policy_loss": round(sums["policy"] / steps_per_epoch, 5),
            "seg_loss": round(sums["seg"] / steps_per_epoch, 5),
        }

    payload = partial(_payload, config, model)
    run = EpochRun(config, Path(config.out_dir), model, optimizer, scheduler, payload)
    final_path = run_epochs(run, train_epoch, resume)
    if config.seg_weight > 0:  # with lambda 0 the head never trained
        save_checkpoint(
            final_path.parent / "segmentation.pt", segmentation_payload(model, payload())
        )
    return final_path
