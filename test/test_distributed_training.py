"""``seg-perception train`` under ``torchrun``: two CPU processes (gloo) end with identical
weights, rank 0 writes the checkpoints, and the run resumes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import yaml

from seg_perception.checkpoint import load_checkpoint
from seg_perception.samples import load_camvid_sample

DIGEST = re.compile(r"rank (\d)/2 weights sha256 ([0-9a-f]{64})")


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CamVid-layout data root made of the bundled sample frames (4 train, 2 val)."""
    root = tmp_path_factory.mktemp("data")
    frames = load_camvid_sample(limit=6)
    for split, part in (("train", frames[:4]), ("val", frames[4:])):
        (root / "camvid" / split).mkdir(parents=True)
        (root / "camvid" / f"{split}annot").mkdir()
        for stem, rgb, label in part:
            cv2.imwrite(str(root / "camvid" / split / f"{stem}.png"), rgb[:, :, ::-1])
            label = label.copy()
            label[label == 255] = 11
            cv2.imwrite(str(root / "camvid" / f"{split}annot" / f"{stem}.png"), label)
        (root / "camvid" / f"{split}.txt").write_text("\n".join(s for s, _, _ in part) + "\n")
    return root


def run_torchrun(config: Path, data_root: Path, *extra: str) -> str:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "seg_perception.cli",
        "train",
        "--config",
        str(config),
        "--data-root",
        str(data_root),
        "--device",
        "cpu",
        *extra,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    return output


def test_two_processes_end_with_identical_weights(sample_root: Path, tmp_path: Path) -> None:
    config = tmp_path / "ddp.yaml"
    out_dir = tmp_path / "run"
    config.write_text(
        yaml.safe_dump(
            {
                "model": "lraspp",
                "model_kwargs": {"inter_channels": 16},
                "epochs": 2,
                "batch_size": 1,
                "crop_size": [64, 96],
                "eval_every": 1,
                "workers": 0,
                "threads": 1,
                "out_dir": str(out_dir),
            }
        )
    )
    output = run_torchrun(config, sample_root, "--epochs", "1")
    digests = dict(DIGEST.findall(output))
    assert set(digests) == {"0", "1"}, output[-2000:]
    assert digests["0"] == digests["1"]
    state = load_checkpoint(out_dir / "last.pt")
    assert state["epoch"] == 0
    # 4 frames, batch 1 per process, 2 processes: 2 steps an epoch
    assert state["scheduler"]["last_epoch"] == 2
    assert not any(k.startswith("module.") for k in state["state_dict"])
    log_rows = (out_dir / "log.csv").read_text().strip().splitlines()
    assert len(log_rows) == 2  # header + one epoch, written by rank 0 alone

    resumed = run_torchrun(config, sample_root, "--resume")
    assert "resumed from" in resumed
    digests = dict(DIGEST.findall(resumed))
    assert digests["0"] == digests["1"]
    assert load_checkpoint(out_dir / "last.pt")["epoch"] == 1
