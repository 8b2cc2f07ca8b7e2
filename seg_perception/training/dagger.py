"""DAgger rounds (Ross et al., 2011): the current policy drives, the expert labels the
states it reaches, the policy is retrained on everything gathered so far (no ROS).

Round ``r`` drives ``episodes`` fresh tracks (seeds ``first_seed + r * episodes`` on,
never held-out ones) executing the expert's action on a share ``beta * decay**r`` of
the steps, with steering noise. Each round's demonstrations and training run are kept
under ``out_dir/round<r>``; a rerun resumes where the last one stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from tqdm import tqdm

from ..driving.tracks import refuse_heldout
from .policy_config import PolicyTrainConfig

__all__ = ["DaggerPlan", "run_dagger"]


@dataclass(frozen=True)
class DaggerPlan:
    rounds: int = 3
    episodes: int = 10  # tracks per round
    first_seed: int = 100
    beta: float = 0.5  # share of expert steps in round 0
    decay: float = 0.5  # beta of round r = beta * decay**r
    steer_noise: float = 0.1

    def __post_init__(self) -> None:
        if self.rounds < 1 or self.episodes < 1:
            raise ValueError("DAgger needs at least one round of at least one episode")
        if not (0 <= self.beta <= 1 and 0 <= self.decay <= 1) or self.steer_noise < 0:
            raise ValueError("beta and decay must be in [0, 1] and steer noise >= 0")

    def seeds(self, round_index: int) -> list[int]:
        first = self.first_seed + round_index * self.episodes
        return list(range(first, first + self.episodes))

    def beta_of(self, round_index: int) -> float:
        return self.beta * self.decay**round_index


def run_dagger(
    config: PolicyTrainConfig, plan: DaggerPlan, start_policy: str | Path, out_dir: str | Path
) -> Path:
    """Run the rounds from ``start_policy``, training each on ``config.demos`` plus every
    round's demonstrations; returns the last round's ``final.pt``."""
    import torch

    from ..driving.demos import record_dagger_demos, save_demos
    from ..driving.policy_runner import PolicyRunner, load_policy
    from .train_policy import train_policy

    for index in range(plan.rounds):
        refuse_heldout(plan.seeds(index), "DAgger")
    out_dir, policy = Path(out_dir), Path(start_policy)
    demos = list(config.demos)
    for index in range(plan.rounds):
        folder = out_dir / f"round{index}"
        gathered = folder / "demos.npz"
        if not gathered.is_file():
            torch.set_num_threads(max(1, config.threads))
            model, _ = load_policy(policy)
            recorded, returns = record_dagger_demos(
                PolicyRunner(model, device="cpu"),
                plan.seeds(index),
                beta=plan.beta_of(index),
                steer_noise=plan.steer_noise,
            )
            save_demos(gathered, recorded)
            tqdm.write(
                f"DAgger round {index}: {len(recorded)} frames, beta {plan.beta_of(index):.3f}, "
                f"driven return {sum(returns) / len(returns):.1f}"
            )
        demos.append(str(gathered))
        round_config = replace(config, demos=list(demos), out_dir=str(folder / "policy"))
        policy = train_policy(round_config, resume=True)
    return policy
