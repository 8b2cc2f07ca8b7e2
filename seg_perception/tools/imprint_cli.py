"""``seg-perception imprint [--checkpoint C] --support DIR --out C2``: new classes from a
few labelled frames, without training.

``DIR/<class name>/<stem>.{png,jpg}`` with ``<stem>_mask.png`` (non-zero = the class)
beside each image. ``C`` must have cosine classifiers (``classifier: cosine``, e.g. the
few-shot base models; the bundled one by default). ``C2`` holds ``C``'s classes plus one
per folder, each with a colour, and is written atomically. ``--remove NAME ...`` drops
classes first (e.g. the untrained rows of a base model's novel classes).
"""

from __future__ import annotations

import argparse

from .arg_types import frame_size, non_negative_int, unit_float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        help="cosine-classifier checkpoint (default: the bundled few-shot base model)",
    )
    parser.add_argument("--support", help="folder: <class>/<image> + _mask.png")
    parser.add_argument("--remove", nargs="+", default=[], help="class names to drop first")
    parser.add_argument("--out", required=True, help="new checkpoint")
    parser.add_argument(
        "--alpha",
        type=unit_float,
        default=0.0,
        help="also adapt the base proxies seen in the supports (0 = imprint only)",
    )
    parser.add_argument(
        "--refine-steps",
        type=non_negative_int,
        default=200,
        help="then train the new rows on their supports for this many steps (0 = imprint "
        "only; default 200, as the node: chosen on CamVid val)",
    )
    parser.add_argument(
        "--input-size", type=frame_size, default=(480, 360), help="network input WIDTHxHEIGHT"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..checkpoint import (
        FEWSHOT_CHECKPOINT,
        checkpoint_classes,
        load_checkpoint,
        load_model,
        save_checkpoint,
        without_training_state,
    )
    from ..fewshot.imprint import imprint_classes, read_support_folder, remove_classes

    size = args.input_size
    args.checkpoint = args.checkpoint or str(FEWSHOT_CHECKPOINT)
    if not args.support and not args.remove:
        raise ValueError("nothing to do: give --support and/or --remove")
    supports = read_support_folder(args.support) if args.support else {}
    payload = load_checkpoint(args.checkpoint)
    model, _ = load_model(args.checkpoint)
    classes = checkpoint_classes(args.checkpoint)
    if args.remove:
        classes = remove_classes(model, classes, args.remove)
    extended = imprint_classes(model, classes, supports, size, args.alpha, args.refine_steps)
    kept = without_training_state(payload)
    kept.update(
        state_dict=model.state_dict(),
        class_names=list(extended.names),
        palette=[list(c) for c in extended.colors],
        imprinted={
            **payload.get("imprinted", {}),
            **{name: [p.name for p in pairs] for name, pairs in supports.items()},
        },
    )
    save_checkpoint(Path(args.out), kept, half=True)
    added = ", ".join(
        f"{name} (id {extended.names.index(name)}, {len(pairs)} frames)"
        for name, pairs in supports.items()
    )
    removed = f"removed {', '.join(args.remove)}; " if args.remove else ""
    print(
        f"{removed}imprinted {added or 'nothing'}; "
        f"wrote {args.out} ({extended.num_classes} classes)"
    )
    return 0
