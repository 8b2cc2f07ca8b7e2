"""``seg-perception dataset check SPEC``: counts, image sizes, class pixel frequencies (a
table and a bar chart) and every problem of a dataset spec, one line each.

Exits 1 when training could not start (an error); warnings do not change the exit code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data.dataset_check import CheckReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="what the dataset holds and what is wrong with it",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    check.add_argument("spec", help="dataset spec YAML (config/datasets/*.yaml, docs/datasets.md)")
    check.add_argument(
        "--data-root", help="fills ${SEG_PERCEPTION_DATA} in the spec's root (else the variable)"
    )
    check.add_argument(
        "--out", default="out/dataset_check", help="folder for report.json and the bar chart"
    )


def run(args: argparse.Namespace) -> int:
    from ..data.class_frequency_chart import class_frequency_chart
    from ..data.dataset_check import check_dataset
    from ..data.dataset_spec import load_dataset_spec
    from ..io_utils import write_json

    spec = load_dataset_spec(args.spec, args.data_root)
    report = check_dataset(spec)
    print(summary_text(report))
    out = Path(args.out)
    write_json(out / "report.json", report.as_dict())
    chart = out / "class_frequencies.png"
    class_frequency_chart(report, spec.classes, chart)
    for line in report.errors:
        print(f"error: {line}")
    for line in report.warnings:
        print(f"warning: {line}")
    print(f"wrote {out / 'report.json'} and {chart}")
    verdict = "training can start" if report.ok else "training cannot start"
    print(f"{spec.name}: {len(report.errors)} errors, {len(report.warnings)} warnings: {verdict}")
    return 0 if report.ok else 1


def summary_text(report: CheckReport) -> str:
    """The splits (frames, image sizes) and each class's share of labelled pixels."""
    lines = [f"dataset {report.dataset}: {len(report.class_names)} classes"]
    for split in report.splits:
        sizes = ", ".join(f"{w}x{h} ({n})" for (w, h), n in split.sizes.most_common(3))
        more = f" and {len(split.sizes) - 3} more sizes" if len(split.sizes) > 3 else ""
        lines.append(f"  {split.name:<8} {split.frames:>6} frames  {sizes}{more}")
    splits = report.splits
    if splits:
        width = max(len(name) for name in report.class_names) + 2
        lines.append("  " + "class".ljust(width) + "".join(f"{s.name:>10}" for s in splits))
        totals = [max(1, int(s.class_pixels.sum())) for s in splits]
        for index, name in enumerate(report.class_names):
            shares = "".join(
                f"{100 * s.class_pixels[index] / t:>9.2f}%"
                for s, t in zip(splits, totals, strict=True)
            )
            lines.append(f"  {name:<{width}}{shares}")
    return "\n".join(lines)
