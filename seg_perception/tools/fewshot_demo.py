"""``seg-perception demo --fewshot``: a class taught to the running node, end to end.

Starts ``segmentation_node`` on the bundled few-shot base model (CamVid without Car,
Pedestrian and SignSymbol), plays the bundled sample once, writes Car masks of two of
its frames into the support folder, calls ``~/fewshot/sync`` and plays the sample
again. Prints the Car IoU of the frames that were not support frames, before and after,
and writes ``fewshot_strip.png`` (camera, overlay before, overlay after).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from ..classes import CAMVID
from ..io_utils import atomic_write, write_json
from ..package_files import config_file
from ..samples import load_camvid_sample

__all__ = ["run_fewshot_demo"]

INPUT_TOPIC = "/camera/image_raw"
NODE = "/segmentation_node"
TAUGHT = "Car"
SUPPORT_FRAMES = (1, 9)  # sample frames whose Car masks teach the class
SHOWN = (3, 6, 10)


def _write_support(folder: Path, frames) -> None:
    car = CAMVID.names.index(TAUGHT)
    (folder / TAUGHT).mkdir(parents=True)
    for index in SUPPORT_FRAMES:
        stem, rgb, truth = frames[index]
        cv2.imwrite(str(folder / TAUGHT / f"{stem}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        cv2.imwrite(
            str(folder / TAUGHT / f"{stem}_mask.png"), (truth == car).astype(np.uint8) * 255
        )


def _iou(frames, labels: dict[int, np.ndarray], class_id: int | None) -> float:
    """IoU of the taught class (id ``class_id`` in the node's labels) against CamVid's Car,
    over the frames that were not support frames."""
    car = CAMVID.names.index(TAUGHT)
    inter = union = 0
    for index, predicted in labels.items():
        if index in SUPPORT_FRAMES:
            continue
        truth = frames[index][2]
        scored = truth != 255
        hit = (predicted == class_id) if class_id is not None else np.zeros_like(scored)
        inter += int((hit & (truth == car) & scored).sum())
        union += int(((hit | (truth == car)) & scored).sum())
    return inter / union if union else 0.0


def _strip(frames, before, after, classes: list[dict], path: Path) -> None:
    """Rows of camera | overlay before | overlay after teaching, with the taught classes'
    legend (``classes``: the node's ``~/class_names`` list after teaching)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .class_legend import add_class_legend

    rows = [i for i in SHOWN if i in before and i in after]
    fig, axes = plt.subplots(len(rows), 3, figsize=(10.5, 2.6 * len(rows) + 0.9), squeeze=False)
    titles = ("camera", "before: base classes only", f"after ~/fewshot/sync: {TAUGHT} taught")
    for row, index in zip(axes, rows, strict=True):
        for axis, image in zip(row, (frames[index][1], before[index], after[index]), strict=True):
            axis.imshow(image)
            axis.set_axis_off()
    for axis, title in zip(axes[0], titles, strict=True):
        axis.set_title(title, fontsize=10)
    add_class_legend(fig, [c["name"] for c in classes], [c["color"] for c in classes])
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def run_fewshot_demo(args: argparse.Namespace) -> int:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from std_msgs.msg import String
    from std_srvs.srv import Trigger

    from ..nodes.demo_player import DemoPlayer
    from ..nodes.ros_graph import NodeProcess, isolated_ros_env, spin_until

    frames = load_camvid_sample(None)
    out_dir = Path(args.out_dir) / "fewshot"
    support = out_dir / "support"
    shutil.rmtree(support, ignore_errors=True)
    support.mkdir(parents=True)
    state = out_dir / "taught_model.pt"
    state.unlink(missing_ok=True)
    ros_args = [
        "--params-file", str(config_file("segmentation.yaml")),
        "-r", f"image:={INPUT_TOPIC}",
        "-p", f"device:={args.device}",
        "-p", f"fewshot_support_dir:={support.resolve()}",
        "-p", f"fewshot_state_file:={state.resolve()}",
    ]  # fmt: skip
    latched = QoSProfile(
        depth=1,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )
    with isolated_ros_env() as env:
        rclpy.init()
        executor = SingleThreadedExecutor()
        helper = rclpy.create_node("seg_perception_fewshot_demo")
        executor.add_node(helper)
        class_lists: list[dict] = []
        helper.create_subscription(
            String,
            f"{NODE}/class_names",
            lambda m: class_lists.append(json.loads(m.data)),
            latched,
        )
        client = helper.create_client(Trigger, f"{NODE}/fewshot/sync")
        node = NodeProcess("segmentation_node", ros_args, env, out_dir / "node.log")
        passes = {}
        try:
            node.start()
            for name in ("before", "after"):
                if name == "after":
                    _write_support(support, frames)
                    future = client.call_async(Trigger.Request())
                    spin_until(executor, future.done, 60.0)
                    reply = future.result()
                    if reply is None or not reply.success:
                        raise RuntimeError(f"~/fewshot/sync failed: {reply and reply.message}")
                    print(f"~/fewshot/sync: {reply.message}")
                    taught = lambda: class_lists and TAUGHT in class_lists[-1]["taught"]  # noqa: E731
                    if not spin_until(executor, taught, 120.0):
                        raise RuntimeError(f"{TAUGHT} never appeared on ~/class_names")
                player = DemoPlayer(frames, INPUT_TOPIC, NODE)
                executor.add_node(player)
                player.play_through(executor, node, args.rate, args.startup_timeout)
                passes[name] = (dict(player.labels), dict(player.overlays))
                executor.remove_node(player)
                player.destroy_node()
        finally:
            node.stop()
            executor.shutdown()
            helper.destroy_node()
            rclpy.try_shutdown()
    names = [c["name"] for c in class_lists[-1]["classes"]]
    taught_id = names.index(TAUGHT)
    before = _iou(frames, passes["before"][0], None)
    after = _iou(frames, passes["after"][0], taught_id)
    _strip(
        frames,
        passes["before"][1],
        passes["after"][1],
        class_lists[-1]["classes"],
        out_dir / "fewshot_strip.png",
    )
    summary = {
        "taught_class": TAUGHT,
        "taught_id": taught_id,
        "support_frames": [frames[i][0] for i in SUPPORT_FRAMES],
        "classes": names,
        "car_iou_before": before,
        "car_iou_after": after,
        "scored_frames": len([i for i in passes["after"][0] if i not in SUPPORT_FRAMES]),
    }
    write_json(out_dir / "summary.json", summary)
    print(
        f"{TAUGHT} taught at run time from {len(SUPPORT_FRAMES)} frames (id {taught_id}): IoU "
        f"on the other sample frames {100 * before:.1f} % before, {100 * after:.1f} % after"
    )
    print(f"wrote {out_dir / 'fewshot_strip.png'} and {out_dir / 'summary.json'}")
    return 0 if after > before else 1
