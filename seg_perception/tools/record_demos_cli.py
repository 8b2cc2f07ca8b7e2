"""``seg-perception record-demos --episodes 18 --out runs/driving/demos.npz``."""

from __future__ import annotations

import argparse

from .arg_types import finite_float, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output .npz")
    parser.add_argument("--episodes", type=positive_int, default=18, help="one episode per seed")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first..first+N-1")
    parser.add_argument(
        "--steer-noise",
        type=finite_float,
        default=None,
        help="std of the executed steering noise (DART; default 0.1 for the expert, 0 with "
        "--policy); 0 = clean driving",
    )
    parser.add_argument(
        "--policy",
        help="DAgger: this policy checkpoint drives, the expert labels the frames it reaches",
    )
    parser.add_argument(
        "--beta",
        type=finite_float,
        default=0.0,
        help="DAgger: chance a step executes the expert's action instead of the policy's",
    )


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..driving.demos import record_dagger_demos, record_expert_demos, save_demos
    from ..driving.tracks import refuse_heldout
    from .cli_parsing import UserError

    if args.steer_noise is None:
        args.steer_noise = 0.0 if args.policy else 0.1
    if args.episodes < 1 or args.steer_noise < 0 or not 0 <= args.beta <= 1:
        raise UserError("--episodes must be >= 1, --steer-noise >= 0 and --beta in [0, 1]")
    seeds = range(args.first_seed, args.first_seed + args.episodes)
    refuse_heldout(seeds, "demonstrations")
    if args.policy:
        import torch

        from ..driving.policy_runner import PolicyRunner, load_policy

        torch.set_num_threads(1)
        model, _ = load_policy(args.policy)
        runner = PolicyRunner(model, device="cpu")
        demos, returns = record_dagger_demos(
            runner, list(seeds), beta=args.beta, steer_noise=args.steer_noise
        )
        driver = "policy"
    else:
        demos, returns = record_expert_demos(list(seeds), args.steer_noise)
        driver = "noisy expert"
    save_demos(args.out, demos)
    print(
        f"{len(demos)} frames from {args.episodes} episodes -> {args.out} "
        f"({driver} return {np.mean(returns):.1f} +- {np.std(returns):.1f})"
    )
    return 0
