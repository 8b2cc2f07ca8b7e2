"""A new stage is one module plus one registry line: its parameter becomes a node
parameter and a ``bag-eval`` option, and ``bag-eval`` writes its output, with no CLI edit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from seg_perception.bags.bag_reader import BagReader, read_labels
from seg_perception.samples import CAMVID_SAMPLE_BAG
from seg_perception.stages.registry import OPTIONAL_STAGES

TEST_DIR = Path(__file__).resolve().parent
ADD_THE_STAGE = f"""
import sys
sys.path.insert(0, {str(TEST_DIR)!r})
from seg_perception.stages import registry
from toy_stage import TOY_STAGE
registry.OPTIONAL_STAGES = (*registry.OPTIONAL_STAGES, TOY_STAGE)  # the registry line
from seg_perception.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_with_toy_stage(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", ADD_THE_STAGE, *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_registered_stage_gets_its_bag_eval_option_and_runs(tmp_path: Path) -> None:
    shown = run_with_toy_stage("bag-eval", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "--toy-gain" in shown.stdout and "toy stage (node parameters)" in shown.stdout
    refused = run_with_toy_stage("bag-eval", "--bag", str(CAMVID_SAMPLE_BAG), "--toy-gain", "99")
    assert refused.returncode == 2 and "must be in 0..50" in refused.stderr, refused.stderr

    out = tmp_path / "out.mcap"
    argv = ["bag-eval", "--bag", str(CAMVID_SAMPLE_BAG), "--out", str(out), "--toy-gain", "3"]
    argv += ["--image-topic", "/camera/image_raw/compressed"]
    argv += ["--json", str(tmp_path / "report.json"), "--backend", "torch", "--threads", "1"]
    ran = run_with_toy_stage(*argv)
    assert ran.returncode == 0, ran.stderr
    with BagReader(out) as bag:
        labels, _ = read_labels(bag, "/segmentation_node/labels")
        scaled, _ = read_labels(bag, "/segmentation_node/toy/scaled")
    assert len(scaled) == len(labels) == 30
    for stamp, label in labels.items():
        expected = np.minimum(label.astype(np.int32) * 3, 255)
        np.testing.assert_array_equal(scaled[stamp], expected)


def test_every_offline_stage_parameter_is_a_bag_eval_option() -> None:
    import argparse

    from seg_perception.tools.bag_eval_cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = {option for action in parser._actions for option in action.option_strings}
    for stage in OPTIONAL_STAGES:
        for spec in stage.params:
            flag = "--" + spec.name.replace("_", "-")
            assert (flag in options) == stage.offline, (stage.name, flag)
