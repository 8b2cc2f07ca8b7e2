"""The training-curve plot: a PNG from the trainer's log.csv, one-line errors otherwise."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from seg_perception.training.training_plot import plot_training_log

HEADER = "epoch,loss,seconds,val_miou,val_pixel_acc\n"


def test_plot_writes_a_png(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(HEADER + "0,2.0,60,,\n1,1.5,60,0.3,0.7\n2,1.2,60,,\n3,1.0,60,0.4,0.8\n")
    out = tmp_path / "plots" / "curve.png"
    plot_training_log(log, out, "test run")
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 100
    assert list(out.parent.iterdir()) == [out]  # no temporary file left


def test_plot_refuses_an_empty_log(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(HEADER)
    with pytest.raises(ValueError, match="no epochs"):
        plot_training_log(log, tmp_path / "curve.png", "empty")
    assert not (tmp_path / "curve.png").exists()
