"""``seg-perception eval-motion [--checkpoint C ...]``: DAVIS 2016 J, F and J&F.

Each sequence is scored by the checkpoint that was not trained on it (two folds: two
checkpoints per model). Without ``--checkpoint`` both bundled models are scored:
two-stream and appearance-only. ``--crf`` refines every mask with the dense CRF (the
kernel of ``refine: crf``, ``--crf-*`` as the node's ``crf_*``); its models are named
``<model> + CRF``. Writes ``<out>/metrics.json`` and a bar chart.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..checkpoint import MOTION_CHECKPOINTS
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
    add_crf_arguments(parser)
    add_davis_eval_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..data import resolve_data_root
    from ..data.davis import check_sequence_names
    from ..evaluation.motion_eval import score_checkpoints
    from ..evaluation.motion_report import motion_figure, summarise
    from ..io_utils import write_json
    from ..machine import describe_machine
    from ..stages.crf import crf_params_of

    if args.threads:
        torch.set_num_threads(args.threads)
    data_root = resolve_data_root(args.data_root)
    sequences = check_sequence_names(data_root, args.sequences)
    groups = (
        {"custom": [Path(p) for p in args.checkpoint]}
        if args.checkpoint
        else {name: list(paths) for name, paths in MOTION_CHECKPOINTS.items()}
    )
    crf = crf_params_of(args) if args.crf else None
    report: dict = {
        "data_root": str(data_root),
        "sequences": sequences,
        "crf": crf.as_dict() if crf else None,
        "models": {},
    }
    for group, paths in groups.items():
        name = f"{group} + CRF" if crf else group
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
