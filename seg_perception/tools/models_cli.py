"""``seg-perception models``: parameters, GFLOPs and CPU latency of every model."""

from __future__ import annotations

import argparse

from .arg_types import positive_int, thread_count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--width", type=positive_int, default=480, help="frame width")
    parser.add_argument("--height", type=positive_int, default=360, help="frame height")
    parser.add_argument(
        "--repeats", type=positive_int, default=10, help="timed forwards per model"
    )
    parser.add_argument(
        "--threads", type=thread_count, default=0, help="torch threads (0 = default)"
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from ..evaluation.model_profile import profile_model
    from ..models import MODEL_NAMES
    from ..package_files import config_file
    from ..training.config import load_train_config
    from .machine import describe_machine

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{describe_machine()}; frame {args.width}x{args.height}, batch 1")
    print("| model | encoder | params (M) | GFLOPs | CPU ms/frame (median) |")
    print("|---|---|---|---|---|")
    # each architecture with its default (from-scratch) encoder, then as the pretrained
    # model table trains it (config/train/zoo/*_lite0.yaml)
    variants = [(name, {}) for name in MODEL_NAMES] + [
        (name, load_train_config(config_file(f"train/zoo/{name}_lite0.yaml")).model_kwargs)
        for name in MODEL_NAMES
    ]
    for name, kwargs in variants:
        profile = profile_model(
            name, size=(args.width, args.height), repeats=args.repeats, **kwargs
        )
        print(
            f"| {profile.name} | {profile.encoder} | {profile.params_millions:.2f} | "
            f"{profile.gflops:.1f} | {profile.cpu_ms_median:.0f} |"
        )
    return 0
