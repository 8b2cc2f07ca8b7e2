"""The auxiliary-loss experiment: policies trained with and without the segmentation
loss on small, medium and full demonstration sets, several training seeds each, every
one scored on the same tracks under the same test-time conditions (no ROS).

A plan (``config/driving/aux_grid.yaml``) names the training recipe, the data sizes
(episodes), the seeds per size, the arms (config overrides: the loss weight, class
weighting) and where they run. Jobs run seed-major (seed 0 of every arm and size,
then seed 1, ...), so a grid stopped early is still balanced; every policy's training
and each condition's scores are kept under ``out/<arm>/<size>/seed<k>`` and a rerun
resumes where the last one stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from ..inference.backends import BACKENDS
from ..io_utils import write_json
from .policy_config import PolicyTrainConfig, load_policy_config

__all__ = ["GridPlan", "GridJob", "load_grid_plan", "grid_jobs", "run_grid"]

RUNTIMES = tuple(b for b in BACKENDS if b != "auto")  # a Driver needs a resolved one


@dataclass(frozen=True)
class GridJob:
    arm: str
    size: str
    seed: int
    episodes: int
    overrides: tuple[tuple[str, Any], ...]

    def folder(self, out_dir: Path) -> Path:
        return out_dir / self.arm / self.size / f"seed{self.seed}"


@dataclass
class GridPlan:
    training: PolicyTrainConfig
    sizes: dict[str, int]  # size name -> demonstration episodes
    seeds: dict[str, int]  # size name -> training seeds
    arms: dict[str, dict[str, Any]]  # arm name -> training config overrides
    arm_sizes: dict[str, list[str]] = field(default_factory=dict)  # arms on some sizes only
    arm_seeds: dict[str, int] = field(default_factory=dict)  # fewer seeds for some arms
    tracks: str = "heldout:8"
    backend: str = "onnxruntime"  # the policies' runtime while scored (Driver.backend)
    conditions: list[str] = field(default_factory=lambda: ["clean", "colour", "noise"])

    def __post_init__(self) -> None:
        from ..driving.conditions import DriveCondition
        from ..driving.tracks import parse_tracks

        if set(self.seeds) != set(self.sizes):
            raise ValueError("seeds must name every size, and only those")
        for arm, sizes in self.arm_sizes.items():
            unknown = set(sizes) - set(self.sizes)
            if arm not in self.arms or unknown:
                raise ValueError(f"arm_sizes: unknown arm {arm!r} or sizes {sorted(unknown)}")
        for arm in set(self.arm_seeds) - set(self.arms):
            raise ValueError(f"arm_seeds: unknown arm {arm!r}")
        known = {f for f in PolicyTrainConfig.__dataclass_fields__}
        for arm, overrides in self.arms.items():
            unknown = set(overrides) - known
            if unknown:
                raise ValueError(f"arm {arm!r}: unknown training keys {sorted(unknown)}")
        for name in self.conditions:
            DriveCondition(name)
        parse_tracks(self.tracks)
        if self.backend not in RUNTIMES:
            raise ValueError(f"backend must be one of {', '.join(RUNTIMES)}, got {self.backend!r}")


def load_grid_plan(path: str | os.PathLike) -> GridPlan:
    """Read a grid plan; its ``training`` key is a policy YAML relative to the plan."""
    path = Path(path)
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or "training" not in data:
        raise ValueError(f"{path}: a grid plan needs a 'training' policy config")
    unknown = set(data) - set(GridPlan.__dataclass_fields__)
    if unknown:
        raise ValueError(f"{path}: unknown grid keys {', '.join(sorted(unknown))}")
    data["training"] = load_policy_config(path.parent / data["training"])
    return GridPlan(**data)


def grid_jobs(plan: GridPlan) -> Iterator[GridJob]:
    """Every (arm, size, seed), seed-major."""
    most = max(list(plan.seeds.values()) + list(plan.arm_seeds.values()) + [0])
    for seed in range(most):
        for size, episodes in plan.sizes.items():
            for arm, overrides in plan.arms.items():
                if size not in plan.arm_sizes.get(arm, plan.sizes):
                    continue
                if seed < min(plan.seeds[size], plan.arm_seeds.get(arm, plan.seeds[size])):
                    yield GridJob(arm, size, seed, episodes, tuple(sorted(overrides.items())))


def _train(plan: GridPlan, job: GridJob, folder: Path) -> Path:
    from .train_policy import train_policy

    final = folder / "policy" / "final.pt"
    if final.is_file():
        return final
    config = replace(
        plan.training,
        **dict(job.overrides),
        episodes=job.episodes,
        seed=job.seed,
        out_dir=str(folder / "policy"),
    )
    return train_policy(config, resume=True)


def _score(plan: GridPlan, checkpoint: Path, folder: Path, workers: int) -> None:
    from ..driving.conditions import DriveCondition
    from ..driving.drive_eval import Driver, evaluate, summarize
    from ..driving.tracks import parse_tracks

    seeds = parse_tracks(plan.tracks)
    for name in plan.conditions:
        scores = folder / f"scores_{name}.json"
        if scores.is_file():
            continue
        results = evaluate(
            Driver(str(checkpoint), backend=plan.backend), seeds, DriveCondition(name), workers
        )
        write_json(scores, {"condition": name, **summarize(results)})


def _scored(plan: GridPlan, folder: Path) -> bool:
    return all((folder / f"scores_{c}.json").is_file() for c in plan.conditions)


def run_grid(plan: GridPlan, out_dir: str | os.PathLike, workers: int, max_jobs: int = 0) -> int:
    """Train and score the jobs not done yet (at most ``max_jobs``; 0 = all); returns
    how many jobs remain."""
    out_dir = Path(out_dir)
    jobs = list(grid_jobs(plan))
    done = 0
    for job in tqdm(jobs, desc="grid policies", dynamic_ncols=True):
        folder = job.folder(out_dir)
        if _scored(plan, folder):
            continue
        if max_jobs and done >= max_jobs:
            break
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / "job.json", asdict(job))
        _score(plan, _train(plan, job, folder), folder, workers)
        done += 1
    return sum(not _scored(plan, j.folder(out_dir)) for j in jobs)
