"""``seg-perception demo --vos``: a DAVIS object tracked by the running node from its
first mask, end to end.

Starts ``segmentation_node`` with ``vos:=true`` (the bundled parent, trained on fold a),
publishes frame 0 of a sequence (default camel, fold b: never seen by the parent), sends
its true mask on ``~/vos/init`` with frame 0's stamp, keeps the node busy with frame 0
while it learns the target (labels keep flowing), then plays the rest of the sequence
one frame at a time and collects ``~/vos/mask``. Prints J (mask IoU) against the
DAVIS annotation and writes ``vos_strip.png`` and ``summary.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from ..io_utils import write_json
from ..package_files import config_file

__all__ = ["run_vos_demo"]

INPUT_TOPIC = "/camera/image_raw"
NODE = "/segmentation_node"
SIZE = (432, 240)  # frames are published at the parent's input size


def _frames(data_root: Path, name: str, limit: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    from ..data.davis import load_sequence

    sequence = load_sequence(data_root, name)
    count = len(sequence) if limit is None else min(limit, len(sequence))
    return [
        (
            cv2.resize(sequence.frame(i), SIZE, interpolation=cv2.INTER_AREA),
            cv2.resize(sequence.mask(i).astype(np.uint8), SIZE, interpolation=cv2.INTER_NEAREST)
            > 0,
        )
        for i in range(count)
    ]


def run_vos_demo(args: argparse.Namespace) -> int:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from ..data import resolve_data_root
    from ..evaluation.vos_metrics import region_j
    from ..evaluation.vos_report import mask_overlay
    from ..image_codec import image_msg_to_array
    from ..nodes.diagnostics import segmentation_status
    from ..nodes.ros_graph import NodeProcess, isolated_ros_env, spin_until
    from ..nodes.ros_image import array_to_image_msg

    frames = _frames(resolve_data_root(args.data_root), args.sequence, args.frames)
    if len(frames) < 3:
        raise ValueError(f"{args.sequence} needs at least 3 frames")
    out_dir = Path(args.out_dir) / "vos"
    out_dir.mkdir(parents=True, exist_ok=True)
    ros_args = [
        "--params-file", str(config_file("segmentation.yaml")),
        "-r", f"image:={INPUT_TOPIC}",
        "-p", f"device:={args.device}",
        "-p", "vos:=true",
        "-p", f"vos_method:={args.vos_method}",
        "-p", f"vos_finetune_steps:={args.vos_finetune_steps}",
        "-p", f"input_width:={SIZE[0]}", "-p", f"input_height:={SIZE[1]}",
        "-p", "diagnostics_period:=0.5",
    ]  # fmt: skip
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    masks: dict[int, np.ndarray] = {}
    labelled: list[float] = []
    status: dict[str, str] = {}

    def on_status(msg: DiagnosticArray) -> None:
        status.update(segmentation_status(msg, NODE) or {})

    with isolated_ros_env() as env:
        rclpy.init()
        executor = SingleThreadedExecutor()
        helper = rclpy.create_node("seg_perception_vos_demo")
        executor.add_node(helper)
        publisher = helper.create_publisher(Image, INPUT_TOPIC, reliable)
        init = helper.create_publisher(Image, f"{NODE}/vos/init", reliable)
        helper.create_subscription(
            Image,
            f"{NODE}/vos/mask",
            lambda m: masks.__setitem__(m.header.stamp.nanosec, image_msg_to_array(m) > 0),
            reliable,
        )
        helper.create_subscription(
            Image, f"{NODE}/labels", lambda m: labelled.append(time.monotonic()), reliable
        )
        helper.create_subscription(DiagnosticArray, "/diagnostics", on_status, 10)
        node = NodeProcess("segmentation_node", ros_args, env, out_dir / "node.log")

        def send(index: int, repeat: int = 0) -> Header:
            header = Header(frame_id="davis")
            header.stamp.sec, header.stamp.nanosec = 1 + repeat, index
            publisher.publish(array_to_image_msg(frames[index][0], "rgb8", header))
            return header

        try:
            node.start()
            started = time.monotonic()
            while not labelled:
                if time.monotonic() - started > args.startup_timeout or not node.alive():
                    raise RuntimeError(node.report("the node never answered frame 0"))
                send(0)
                spin_until(executor, lambda: bool(labelled), 1.0)
            header = send(0)
            spin_until(executor, lambda: False, 0.5)  # frame 0 with this stamp is buffered
            init.publish(array_to_image_msg(frames[0][1].astype(np.uint8) * 255, "mono8", header))
            asked, repeat = time.monotonic(), 1
            while status.get("vos_state") != "tracking":
                if time.monotonic() - asked > args.vos_timeout or not node.alive():
                    raise RuntimeError(node.report(f"no target learnt: {status}"))
                send(0, repeat)  # labels keep flowing while the target is learnt
                repeat += 1
                spin_until(executor, lambda: status.get("vos_state") == "tracking", 0.2)
            learning_labels = sum(1 for t in labelled if t >= asked)
            for index in range(1, len(frames)):
                send(index, repeat)
                if not spin_until(executor, lambda i=index: i in masks, 60.0):
                    raise RuntimeError(node.report(f"no ~/vos/mask for frame {index}"))
        finally:
            node.stop()
            executor.shutdown()
            helper.destroy_node()
            rclpy.try_shutdown()
    scored = range(1, len(frames) - 1)  # DAVIS scores neither the first nor the last frame
    j = [region_j(masks[i], frames[i][1]) for i in scored]
    shown = np.linspace(0, len(frames) - 1, 5).round().astype(int)
    tiles = [mask_overlay(frames[i][0], frames[0][1] if i == 0 else masks[i]) for i in shown]
    strip = np.concatenate(tiles, axis=1)
    for k, i in enumerate(shown):
        label = "given mask" if i == 0 else f"frame {i}"
        cv2.putText(strip, label, (k * SIZE[0] + 8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (255, 255, 255), 2, cv2.LINE_AA)  # fmt: skip
    from ..io_utils import atomic_write

    with atomic_write(out_dir / "vos_strip.png") as tmp:
        cv2.imwrite(
            str(tmp), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 3]
        )
    summary = {
        "sequence": args.sequence,
        "method": args.vos_method,
        "frames": len(frames),
        "j_mean": float(np.mean(j)),
        "finetune_seconds": float(status.get("vos_finetune_seconds", "nan")),
        "labels_while_learning": learning_labels,
        "diagnostics": status,
    }
    write_json(out_dir / "summary.json", summary)
    print(
        f"{args.sequence}: target learnt in {summary['finetune_seconds']:.1f} s "
        f"({learning_labels} label frames served meanwhile); J {100 * summary['j_mean']:.1f} "
        f"over frames 1..{len(frames) - 2}"
    )
    print(f"wrote {out_dir / 'vos_strip.png'} and {out_dir / 'summary.json'}")
    return 0
