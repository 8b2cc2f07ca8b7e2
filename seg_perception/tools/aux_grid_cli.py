"""``seg-perception aux-grid --plan config/driving/aux_grid.yaml --out runs/aux_grid``."""

from __future__ import annotations

import argparse

from .arg_types import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plan", default="config/driving/aux_grid.yaml", help="the grid plan (YAML)"
    )
    parser.add_argument("--out", required=True, help="policies and scores go to OUT/<arm>/...")
    parser.add_argument(
        "--workers", type=positive_int, default=2, help="episodes in parallel (processes)"
    )
    parser.add_argument(
        "--max-jobs", type=int, default=0, help="train and score at most N policies now (0: all)"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="only tabulate what is finished"
    )
    parser.add_argument("--figure", help="PNG: each arm's effect with its 95 %% interval")


def run(args: argparse.Namespace) -> int:
    from ..training.aux_grid import load_grid_plan, run_grid
    from ..training.aux_grid_report import write_grid_report

    if args.max_jobs < 0:
        raise ValueError(f"--max-jobs must be >= 0, got {args.max_jobs}")
    plan = load_grid_plan(args.plan)
    if not args.report_only:
        remaining = run_grid(plan, args.out, args.workers, args.max_jobs)
        print(f"{remaining} grid policies still to train or score")
    print(write_grid_report(plan, args.out, args.figure), end="")
    return 0
