"""``seg-perception demo``: the node on real ROS 2 (Fast DDS on loopback), end to end.

Starts ``segmentation_node`` as its own process, plays the bundled CamVid sample (or
the frames of a bag, ``--bag``) as ``sensor_msgs/Image`` (rgb8) at 10 Hz, records
``~/labels``, ``~/overlay`` and ``~/confidence``, writes overlay pictures and
``summary.json``, and prints frames in/out, fps, latency percentiles and mean IoU
against the frames' labels.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from ..classes import CAMVID
from ..evaluation.metrics import ConfusionMatrix
from ..io_utils import atomic_write, write_json
from ..latency_stats import percentiles
from ..package_files import config_file
from ..samples import load_camvid_sample
from .arg_types import positive_float, positive_int

LABEL_TOPIC = "/camera/labels"  # what bag-make writes
INPUT_TOPIC = "/camera/image_raw"
NODE_NAME = "segmentation_node"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        "--out-dir",
        dest="out_dir",
        default="out/demo",
        help="folder for pictures and summary.json",
    )
    parser.add_argument("--rate", type=positive_float, default=10.0, help="playback rate in Hz")
    parser.add_argument(
        "--frames", type=positive_int, default=None, help="play only the first N frames"
    )
    parser.add_argument("--checkpoint", default="", help="checkpoint (default: the bundled one)")
    parser.add_argument("--model", default="lraspp", help="model architecture of the checkpoint")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument(
        "--startup-timeout", type=positive_float, default=60.0, help="seconds to wait for the node"
    )
    parser.add_argument("--bag", help="play this bag's frames instead of the bundled sample")
    parser.add_argument(
        "--image-topic", help="image topic of --bag (default: its only image topic)"
    )
    parser.add_argument(
        "--label-topic",
        default=LABEL_TOPIC,
        help="mono8 class-id topic of --bag (default: %(default)s when present)",
    )
    parser.add_argument(
        "--fewshot",
        action="store_true",
        help="teach the running node a class (Car) from two sample frames; before/after",
    )
    parser.add_argument(
        "--vos",
        action="store_true",
        help="track a DAVIS object from its first mask (needs --data-root or "
        "$SEG_PERCEPTION_DATA with davis2016/)",
    )
    parser.add_argument("--sequence", default="camel", help="DAVIS sequence of --vos")
    parser.add_argument("--data-root", help="folder holding davis2016/ (--vos)")
    parser.add_argument(
        "--vos-method", choices=("osvos", "onavos"), default="osvos", help="--vos method"
    )
    parser.add_argument(
        "--vos-finetune-steps", type=positive_int, default=100, help="--vos fine-tuning steps"
    )
    parser.add_argument(
        "--vos-timeout", type=positive_float, default=600.0, help="seconds to learn the target"
    )


def _save_png(path: Path, rgb: np.ndarray) -> None:
    with atomic_write(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise OSError(f"cannot write {path}")


def _strip(rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]], path: Path) -> None:
    """Rows of (camera, overlay, ground truth) under column titles, with a class legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .class_legend import add_class_legend

    titles = ("camera", "node's ~/overlay", "ground truth")
    fig, axes = plt.subplots(len(rows), 3, figsize=(10.5, 2.6 * len(rows) + 0.9), squeeze=False)
    for row, images in zip(axes, rows, strict=True):
        for axis, image in zip(row, images, strict=True):
            axis.imshow(image)
            axis.set_axis_off()
    for axis, title in zip(axes[0], titles, strict=True):
        axis.set_title(title)
    add_class_legend(fig, CAMVID.names, CAMVID.colors, [("unlabelled (not scored)", "black")])
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def _bag_frames(args: argparse.Namespace) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The frames of ``--bag`` as ``(name, rgb, label)``; unlabelled pixels are ignored."""
    from ..bags.bag_reader import BagReader, read_frames, the_image_topic
    from ..classes import IGNORE_INDEX

    with BagReader(args.bag) as bag:
        label_topic = args.label_topic if args.label_topic in bag.topics() else None
        image_topic = args.image_topic or the_image_topic(bag, label_topic)
        frames = read_frames(bag, image_topic, label_topic, args.frames)
    if not frames:
        raise ValueError(f"no decodable frame on {image_topic} in {args.bag}")
    print(f"playing {len(frames)} frames of {image_topic} from {args.bag}")
    return [
        (name, rgb, label if label is not None else np.full(rgb.shape[:2], IGNORE_INDEX, np.uint8))
        for name, rgb, label in frames
    ]


def run(args: argparse.Namespace) -> int:
    # ROS imports stay inside the verb so `seg-perception --help` works without ROS.
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from ..nodes.demo_player import DemoPlayer
    from ..nodes.ros_graph import NodeProcess, isolated_ros_env, spin_until

    if args.rate <= 0:
        raise ValueError("--rate must be positive")
    if args.fewshot:
        from .fewshot_demo import run_fewshot_demo

        return run_fewshot_demo(args)
    if args.vos:
        from .vos_demo import run_vos_demo

        return run_vos_demo(args)
    frames = _bag_frames(args) if args.bag else load_camvid_sample(args.frames)
    if not frames:
        raise FileNotFoundError("the bundled CamVid sample is empty")
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ros_args = [
        "--params-file",
        str(config_file("segmentation.yaml")),
        "-r",
        f"image:={INPUT_TOPIC}",
        "-p",
        f"model:={args.model}",
        "-p",
        f"device:={args.device}",
    ]
    if args.checkpoint:
        ros_args += ["-p", f"checkpoint:={Path(args.checkpoint).resolve()}"]
    with isolated_ros_env() as env:
        rclpy.init()
        executor = SingleThreadedExecutor()
        player = DemoPlayer(frames, INPUT_TOPIC, f"/{NODE_NAME}")
        executor.add_node(player)
        node = NodeProcess(NODE_NAME, ros_args, env, out_dir / "node.log")
        try:
            node.start()
            print(
                f"started {NODE_NAME} (pid {node.process.pid}, "
                f"ROS_DOMAIN_ID {env['ROS_DOMAIN_ID']})"
            )
            duration = player.play_through(executor, node, args.rate, args.startup_timeout)
            # the node's final diagnostics: every frame received is accounted for
            spin_until(executor, lambda: _settled(player.last_diagnostics, player.published), 5.0)
        finally:
            exit_code = node.stop()
            executor.shutdown()
            player.destroy_node()
            rclpy.try_shutdown()
    summary = _summarise(player, frames, duration, exit_code)
    _write_outputs(out_dir, player, frames, summary)
    _print_summary(summary, out_dir)
    return 0 if summary["frames_out"] > 0 else 1


def _settled(diagnostics: dict | None, published: int) -> bool:
    """The node's diagnostics count every published frame as processed or dropped."""
    if diagnostics is None:
        return False
    counts = {k: int(diagnostics.get(f"frames_{k}", 0)) for k in (*_FRAME_FATES, "received")}
    return counts["received"] >= published and sum(counts[k] for k in _FRAME_FATES) >= published


_FRAME_FATES = ("processed", "dropped", "rejected", "failed")


def _summarise(player, frames, duration: float, exit_code: int | None) -> dict:
    confusion = ConfusionMatrix(CAMVID.num_classes)
    for index, labels in player.labels.items():
        confusion.update(frames[index][2], labels)
    latencies = [1e3 * v for v in player.latency_s.values()]
    iou = confusion.iou()
    return {
        "frames_in": player.published,
        "frames_out": len(player.labels),
        "overlays_out": len(player.overlays),
        "confidence_out": len(player.confidence),
        "duration_s": round(duration, 2),
        "output_fps": round(player.output_fps(), 2),
        "latency_ms": {k: round(v, 1) for k, v in percentiles(latencies).items()},
        "mean_iou": round(confusion.mean_iou(), 4),
        "pixel_accuracy": round(confusion.pixel_accuracy(), 4),
        "per_class_iou": {
            name: (None if np.isnan(v) else round(float(v), 4))
            for name, v in zip(CAMVID.names, iou, strict=True)
        },
        "node_diagnostics": player.last_diagnostics,
        "node_exit_code": exit_code,
    }


def _write_outputs(out_dir: Path, player, frames, summary: dict) -> None:
    overlay_dir = out_dir / "overlays"
    for index, overlay in player.overlays.items():
        _save_png(overlay_dir / f"{frames[index][0]}.png", overlay)
    shown = sorted(player.overlays)[:: max(1, len(player.overlays) // 5)][:5]
    if shown:
        rows = [(frames[i][1], player.overlays[i], CAMVID.colorize(frames[i][2])) for i in shown]
        _strip(rows, out_dir / "overlay_strip.png")
    write_json(out_dir / "summary.json", summary)


def _print_summary(summary: dict, out_dir: Path) -> None:
    latency = summary["latency_ms"]
    diagnostics = summary["node_diagnostics"] or {}
    dropped = int(diagnostics.get("frames_dropped", 0))
    lost = summary["frames_in"] - summary["frames_out"] - dropped
    print(
        f"frames in {summary['frames_in']}, out {summary['frames_out']} "
        f"(overlay {summary['overlays_out']}, confidence {summary['confidence_out']}); "
        f"inference backend {diagnostics.get('inference_backend', 'unknown')}"
    )
    if dropped:
        print(
            f"  {dropped} dropped by the node by design: it always segments the newest frame, "
            "and a frame replaced before it was taken is counted as dropped"
        )
    if lost > 0:
        print(f"  {lost} not received back (lost between the processes)")
    print(
        f"output rate {summary['output_fps']:.1f} fps; end-to-end latency ms "
        f"p50 {latency['p50']:.1f} p90 {latency['p90']:.1f} p99 {latency['p99']:.1f}\n"
        f"mean IoU {100 * summary['mean_iou']:.1f} % over {summary['frames_out']} frames "
        f"(pixel accuracy {100 * summary['pixel_accuracy']:.1f} %)"
    )
    print(
        "per-class IoU: "
        + ", ".join(
            f"{name} {'n/a' if value is None else f'{100 * value:.1f} %'}"
            for name, value in summary["per_class_iou"].items()
        )
    )
    print(
        f"wrote {out_dir / 'overlay_strip.png'}, {out_dir / 'overlays'}/, "
        f"{out_dir / 'summary.json'}"
    )
