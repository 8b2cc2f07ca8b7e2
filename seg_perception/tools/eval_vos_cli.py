"""``seg-perception eval-vos --method osvos|onavos``: semi-supervised DAVIS 2016.

Each sequence starts from its first frame's true mask and is run by the parent that was
not trained on it (two folds: two parents). Writes ``<out>/metrics.json`` (J, F, J&F
per sequence and mean, fine-tuning seconds, ms per frame) and ``<out>/frames.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..checkpoint import VOS_PARENT_CHECKPOINTS
from .arg_types import positive_int
from .davis_args import add_davis_eval_arguments

METHODS = ("osvos", "onavos")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", choices=METHODS, required=True)
    parser.add_argument("--config", help="OnlineParams YAML (default: config/vos/<method>.yaml)")
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        help="VOS parent; repeat for each fold (default: the bundled parents)",
    )
    parser.add_argument("--out", help="output folder (default: out/eval_vos_<method>)")
    parser.add_argument("--finetune-steps", type=positive_int, help="override the config")
    parser.add_argument(
        "--crf",
        action=argparse.BooleanOptionalAction,
        help="dense CRF on the masks or not (default: the config's)",
    )
    parser.add_argument(
        "--show", type=positive_int, default=4, help="sequences in the figure (default 4)"
    )
    add_davis_eval_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..data import resolve_data_root
    from ..data.davis import check_sequence_names
    from ..device import select_device
    from ..evaluation.vos_eval import evaluate_vos
    from ..evaluation.vos_report import summarise_vos, vos_figure
    from ..io_utils import write_json
    from ..package_files import config_file
    from ..vos.online import load_online_params
    from .machine import describe_machine

    if args.threads:
        torch.set_num_threads(args.threads)
    config = Path(args.config) if args.config else config_file(f"vos/{args.method}.yaml")
    params = load_online_params(config, finetune_steps=args.finetune_steps, crf=args.crf)
    if params.online != (args.method == "onavos"):
        raise ValueError(f"{config} sets online: {params.online}, which is not {args.method}")
    data_root = resolve_data_root(args.data_root)
    sequences = check_sequence_names(data_root, args.sequences)
    parents = [Path(p) for p in args.checkpoint] or list(VOS_PARENT_CHECKPOINTS)
    device = select_device(args.device)
    step = max(1, len(sequences) // args.show)
    shown = sequences[::step][: args.show]
    results = evaluate_vos(parents, data_root, sequences, params, device, args.frame_limit, shown)
    summary = summarise_vos(results, parents)
    report = {
        "method": args.method,
        "config": str(config),
        "params": dataclasses.asdict(params),
        "data_root": str(data_root),
        "sequences": sequences,
        "frame_limit": args.frame_limit,
        **summary,
        "machine": describe_machine(device),
    }
    out = Path(args.out or f"out/eval_vos_{args.method}")
    write_json(out / "metrics.json", report)
    title = (
        f"{args.method.upper()} on DAVIS 2016 (first mask given): "
        f"J&F {100 * summary['jf_mean']:.1f} over {len(results)} sequences"
    )
    drew = vos_figure(results, title, out / "frames.png")
    print(
        f"{args.method}: J {100 * summary['j_mean']:.1f}  F {100 * summary['f_mean']:.1f}  "
        f"J&F {100 * summary['jf_mean']:.1f} over {len(results)} sequences; fine-tuning "
        f"{summary['finetune_seconds_mean']:.1f} s per sequence, "
        f"{summary['ms_per_frame_mean']:.0f} ms per frame"
    )
    print(f"wrote {out / 'metrics.json'}" + (f" and {out / 'frames.png'}" if drew else ""))
    return 0
