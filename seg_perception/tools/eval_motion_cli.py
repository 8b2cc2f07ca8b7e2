"""``seg-perception eval-motion [--checkpoint C ...]``: DAVIS 2016 J, F and J&F.

Each sequence is scored by the checkpoint that was not trained on it (two folds: two
checkpoints per model). Without ``--checkpoint`` both bundled models are scored:
two-stream and appearance-only. ``--crf`` refines every mask with the dense CRF (the
kernel of ``refine: crf``, ``--crf-*`` as the node's ``crf_*``); its models are named
``<model> + CRF``. ``--self-train`` (offline, unsupervised) fine-tunes, per sequence,
the VOS parent that held it out on the motion masks' confident pixels and fuses the two
(``evaluation/motion_self_training.py``); its models are named ``<model> +
self-training``. Writes ``<out>/metrics.json`` and a bar chart.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..checkpoint import MOTION_CHECKPOINTS, VOS_PARENT_CHECKPOINTS
from .arg_types import positive_int
from .davis_args import add_davis_eval_arguments
from .refine_args import add_crf_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        help="motion checkpoint; repeat for each fold (default: the bundled models)",
    )
    parser.add_argument("--out", default="out/eval_motion", help="output folder")
    parser.add_argument(
        "--crf",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="dense CRF on each mask before the threshold (needs pydensecrf2; default off)",
    )
    parser.add_argument(
        "--self-train",
        action="store_true",
        help="per sequence, fine-tune a VOS parent on the motion masks' confident pixels "
        "and fuse it with them (offline; default off)",
    )
    parser.add_argument(
        "--vos-parent",
        action="append",
        default=[],
        help="--self-train's VOS parent; repeat for each fold (default: the bundled parents)",
    )
    parser.add_argument(
        "--finetune-steps",
        type=positive_int,
        help="--self-train's fine-tuning steps (default: config/vos/osvos.yaml's)",
    )
    add_crf_arguments(parser)
    add_davis_eval_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..data import resolve_data_root
    from ..data.davis import check_sequence_names
    from ..evaluation.motion_eval import score_checkpoints
    from ..evaluation.motion_report import motion_figure, summarise
    from ..evaluation.motion_self_training import SelfTrainingParams, score_self_trained
    from ..io_utils import write_json
    from ..package_files import config_file
    from ..stages.crf import crf_params_of
    from ..vos.online import load_online_params
    from .machine import describe_machine

    if args.threads:
        torch.set_num_threads(args.threads)
    data_root = resolve_data_root(args.data_root)
    sequences = check_sequence_names(data_root, args.sequences)
    groups = (
        {"custom": [Path(p) for p in args.checkpoint]}
        if args.checkpoint
        else {name: list(paths) for name, paths in MOTION_CHECKPOINTS.items()}
    )
    if not args.self_train and (args.vos_parent or args.finetune_steps):
        raise ValueError("--vos-parent and --finetune-steps need --self-train")
    crf = crf_params_of(args) if args.crf else None
    report: dict = {
        "data_root": str(data_root),
        "sequences": sequences,
        "crf": crf.as_dict() if crf else None,
        "models": {},
    }
    if args.self_train:
        self_training = SelfTrainingParams()
        tuning_config = config_file("vos/osvos.yaml")
        tuning = load_online_params(
            tuning_config, finetune_steps=args.finetune_steps, crf=False, online=False
        )
        parents = [Path(p) for p in args.vos_parent] or list(VOS_PARENT_CHECKPOINTS)
        report["self_training"] = {
            **self_training.as_dict(),
            "tuning_config": str(tuning_config),
            "tuning": {  # run at each motion checkpoint's input size, not the config's
                k: v for k, v in dataclasses.asdict(tuning).items() if k != "input_size"
            },
            "vos_parents": [str(p) for p in parents],
        }
    for group, paths in groups.items():
        name = group + (" + self-training" if args.self_train else "") + (" + CRF" if crf else "")
        if args.self_train:
            scores, latency = score_self_trained(
                paths,
                parents,
                data_root,
                sequences,
                self_training,
                tuning,
                args.device,
                args.frame_limit,
                crf,
            )
        else:
            scores, latency = score_checkpoints(
                paths, data_root, sequences, args.device, args.frame_limit, crf
            )
        report["models"][name] = summarise(scores, latency, paths)
        summary = report["models"][name]
        print(
            f"{name}: J {100 * summary['j_mean']:.1f}  F {100 * summary['f_mean']:.1f}  "
            f"J&F {100 * summary['jf_mean']:.1f} over {len(scores)} sequences"
        )
    report["machine"] = describe_machine(torch.device("cpu"))
    out = Path(args.out)
    write_json(out / "metrics.json", report)
    motion_figure(report["models"], out / "per_sequence_j.png")
    print(f"wrote {out / 'metrics.json'} and {out / 'per_sequence_j.png'}")
    return 0
