"""``seg-perception fewshot-eval --fold 0 1 2 --shots 1 5 [--data SPEC]``: the few-shot
protocol on CamVid or on the dataset a spec describes (its folds name that dataset's
classes, its checkpoints predict them).

For each fold and k (``config/fewshot/protocol.yaml``): novel-class IoU over seeded
episodes (mean, spread), base-class mIoU before and after imprinting, the ratio to the
fully supervised IoU of the same classes, for every adaptation of the ablation
(alpha, refinement steps). Writes
``<out>/fewshot.json`` (everything, episodes included) and one picture per fold and k.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .arg_types import adaptation_list, positive_int, thread_count
from .dataset_args import add_dataset_arguments, labelled_data_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fold", type=int, nargs="+", default=[0, 1, 2], help="fold(s)")
    parser.add_argument("--shots", type=positive_int, nargs="+", help="k (default: protocol's)")
    parser.add_argument("--split", default="test", help="split of the query frames (val or test)")
    parser.add_argument("--protocol", default="", help="protocol YAML (default: bundled)")
    add_dataset_arguments(parser)
    parser.add_argument("--episodes", type=positive_int, help="episodes (default: protocol's)")
    parser.add_argument("--limit", type=positive_int, help="only the first N query frames")
    parser.add_argument(
        "--adaptations",
        type=adaptation_list,
        help="alpha:refine-steps pairs to score, e.g. 0:0,0:100 (default: the protocol's "
        "ablation and its reported pair)",
    )
    parser.add_argument("--out", default="out/fewshot", help="output folder")
    parser.add_argument("--threads", type=thread_count, default=0, help="torch CPU threads")


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from ..checkpoint import load_model
    from ..data.camvid import read_rgb
    from ..evaluation.segmentation_eval import evaluate_split
    from ..fewshot.adaptive_proxies import AdaptiveProxies
    from ..fewshot.episodes import support_pools
    from ..fewshot.fewshot_eval import Adaptation, cache_queries, run_episode, score_queries
    from ..fewshot.protocol import check_folds, load_protocol
    from ..fewshot.report import episode_statistics, fewshot_figure
    from ..inference.segmentation_pipeline import SegmentationPipeline
    from ..io_utils import write_json
    from ..package_files import config_file
    from .machine import describe_machine

    if args.threads:
        torch.set_num_threads(args.threads)
    protocol_path = args.protocol or config_file("fewshot/protocol.yaml")
    protocol = load_protocol(protocol_path)  # a bad protocol is named before the dataset opens
    for fold in args.fold:
        if not 0 <= fold < len(protocol.folds):
            raise ValueError(f"--fold {fold}: the protocol has folds 0..{len(protocol.folds) - 1}")
    data = labelled_data_of(args)
    classes = data.classes
    check_folds(protocol, classes, protocol_path)
    shots_list = args.shots or list(protocol.shots)
    episodes = args.episodes or protocol.episodes
    reported = Adaptation(protocol.alpha, protocol.refine_steps)
    pairs = args.adaptations or protocol.adaptations
    adaptations = sorted({*(Adaptation(a, s) for a, s in pairs), reported})
    size = tuple(protocol.input_size)
    support_splits = [s for s in protocol.support_splits if s != args.split]
    for split in (args.split, *support_splits):
        if split not in data.split_names:
            where = "--split" if split == args.split else "the protocol's support_splits"
            raise ValueError(
                f"{where}: dataset {data.name} has no split {split!r} "
                f"(it has {', '.join(data.split_names)})"
            )

    reference, _ = load_model(protocol.fully_supervised_checkpoint, expected_classes=classes)
    pipeline = SegmentationPipeline(reference, classes, size, "cpu")
    full_confusion, _, _ = evaluate_split(pipeline, data, args.split, args.limit)
    full_iou = dict(zip(classes.names, map(float, full_confusion.iou()), strict=True))

    out = Path(args.out)
    report = {
        "protocol": protocol.__dict__,
        "dataset": data.name,
        "split": args.split,
        "support_splits": support_splits,
        "episodes": episodes,
        "fully_supervised_iou": full_iou,
        "folds": {},
        "machine": describe_machine(torch.device("cpu")),
    }
    for fold in args.fold:
        novel, base = protocol.novel_ids(fold, classes), protocol.base_ids(fold, classes)
        model, _ = load_model(protocol.base_checkpoints[fold], expected_classes=classes)
        proxies = AdaptiveProxies(model)
        queries = cache_queries(model, data, args.split, size, args.limit)
        base_active = torch.zeros(classes.num_classes, dtype=torch.bool)
        base_active[base] = True
        shown = _frames_to_show(queries.labels, novel)
        before, before_labels = score_queries(model, queries, base_active, shown)
        pools = support_pools(data, support_splits, novel, protocol.min_class_fraction)
        fold_report = {
            "novel_classes": list(protocol.folds[fold]),
            "base_checkpoint": protocol.base_checkpoints[fold],
            "base_miou_before": float(before.iou()[base].mean()),
            "base_iou_before": {classes.names[i]: float(before.iou()[i]) for i in base},
            "support_pool_sizes": {classes.names[c]: len(p) for c, p in pools.items()},
            "shots": {},
        }
        for shots in shots_list:
            results = []
            for episode in tqdm(range(episodes), desc=f"fold {fold}, {shots}-shot episodes"):
                seed = (protocol.seed, fold, shots, episode)
                keep = shown if episode == 0 else ()
                results.append(
                    run_episode(
                        model,
                        proxies,
                        data,
                        queries,
                        pools,
                        shots,
                        seed,
                        base,
                        adaptations,
                        size,
                        keep,
                        protocol.refine_lr,
                        protocol.refine_partial,
                    )
                )
            per_adaptation = {}
            for adaptation in adaptations:
                stats = episode_statistics(
                    [r.confusions[adaptation] for r in results], novel, base, classes
                )
                stats["base_miou_drop"] = (
                    fold_report["base_miou_before"] - stats["base_miou"]["mean"]
                )
                per_adaptation[adaptation.key] = stats
            fold_report["shots"][str(shots)] = {
                "per_adaptation": per_adaptation,
                "episodes": [
                    {
                        "supports": {classes.names[c]: s for c, s in r.supports.items()},
                        "novel_iou": {
                            a.key: {
                                classes.names[i]: float(r.confusions[a].iou()[i]) for i in novel
                            }
                            for a in adaptations
                        },
                    }
                    for r in results
                ],
            }
            rows = [
                (
                    queries.stems[i],
                    read_rgb(queries.images[i]),
                    queries.labels[i],
                    before_labels[i],
                    results[0].kept[reported][i],
                )
                for i in shown
            ]
            title = (
                f"fold {fold}, {shots}-shot, episode 0 ({reported.key}), {data.name} {args.split}"
            )
            fewshot_figure(rows, novel, title, out / f"fold{fold}_{shots}shot.png", classes)
        report["folds"][str(fold)] = fold_report
        _print_fold(fold_report, fold, reported.key, full_iou)
    report["summary"] = _summary(report, reported.key, shots_list)
    write_json(out / "fewshot.json", report)
    _print_summary(report["summary"])
    print(f"wrote {out / 'fewshot.json'} and the fold pictures in {out}")
    return 0


def _frames_to_show(labels, novel_ids, count: int = 3) -> list[int]:
    """The query frames with the most novel-class pixels."""
    import numpy as np

    counts = [int(np.isin(label, novel_ids).sum()) for label in labels]
    return sorted(int(i) for i in np.argsort(counts)[::-1][:count])


def _summary(report: dict, reported: str, shots_list) -> dict:
    """Per k and adaptation, over every evaluated fold: the novel classes' mean IoU, their
    fully supervised mean IoU and the ratio, and the largest base-class mIoU drop."""
    import numpy as np

    full = report["fully_supervised_iou"]
    summary = {}
    for shots in shots_list:
        per_adaptation = {}
        keys = next(iter(report["folds"].values()))["shots"][str(shots)]["per_adaptation"]
        for key in keys:
            novel, supervised, ratios, drops = [], [], [], []
            for fold in report["folds"].values():
                stats = fold["shots"][str(shots)]["per_adaptation"][key]
                for name, values in stats["novel_iou"].items():
                    novel.append(values["mean"])
                    supervised.append(full[name])
                    if full[name] > 0:  # a class full supervision never finds has no ratio
                        ratios.append(values["mean"] / full[name])
                drops.append(stats["base_miou_drop"])
            per_adaptation[key] = {
                "novel_classes": len(novel),
                "novel_miou": float(np.mean(novel)),
                "fully_supervised_miou": float(np.mean(supervised)),
                "ratio_of_means": _ratio(np.mean(novel), np.mean(supervised)),
                "mean_of_ratios": float(np.mean(ratios)) if ratios else None,
                "largest_base_miou_drop": float(max(drops)),
            }
        summary[str(shots)] = {"reported": reported, "per_adaptation": per_adaptation}
    return summary


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 else None


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f} %"


def _print_fold(fold_report: dict, fold: int, reported: str, full_iou: dict) -> None:
    print(
        f"fold {fold} (novel {', '.join(fold_report['novel_classes'])}): base mIoU before "
        f"{100 * fold_report['base_miou_before']:.2f} %"
    )
    for shots, entry in fold_report["shots"].items():
        stats = entry["per_adaptation"][reported]
        cells = ", ".join(
            f"{name} {100 * v['mean']:.1f}±{100 * v['std']:.1f} (full {100 * full_iou[name]:.1f})"
            for name, v in stats["novel_iou"].items()
        )
        print(
            f"  {shots}-shot, {reported}: {cells}; base mIoU after "
            f"{100 * stats['base_miou']['mean']:.2f} % (drop {100 * stats['base_miou_drop']:.2f})"
        )


def _print_summary(summary: dict) -> None:
    print("| k | adaptation | novel mIoU | fully supervised | ratio | largest base drop |")
    print("|---|---|---|---|---|---|")
    for shots, entry in summary.items():
        for key, row in entry["per_adaptation"].items():
            mark = " (reported)" if key == entry["reported"] else ""
            print(
                f"| {shots} | {key}{mark} | {100 * row['novel_miou']:.1f} | "
                f"{100 * row['fully_supervised_miou']:.1f} | "
                f"{_percent(row['ratio_of_means'])} | "
                f"{100 * row['largest_base_miou_drop']:.2f} |"
            )
