"""``seg-perception dataset check``: counts, sizes and class frequencies of a good dataset,
and each broken case as one line naming its file, through the real console command."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cli_process import run_cli
from dataset_builders import (
    class_ids,
    colour_mask,
    cvat_export,
    index_dataset,
    write_gray,
    write_rgb,
)
from PIL import Image as PILImage

from seg_perception.data import load_dataset_spec
from seg_perception.data.dataset_check import check_dataset


def _check(spec: Path, out: Path) -> subprocess.CompletedProcess:
    return run_cli("dataset", "check", str(spec), "--out", str(out))


def _lines(result: subprocess.CompletedProcess, kind: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(f"{kind}: ")]


def test_a_good_dataset_reports_counts_sizes_frequencies_and_a_chart(tmp_path: Path) -> None:
    spec = cvat_export(tmp_path / "export")
    result = _check(spec, tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "train         4 frames  64x48 (4)" in result.stdout
    assert "val           2 frames  64x48 (2)" in result.stdout
    assert result.stdout.strip().endswith("0 errors, 0 warnings: training can start")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["classes"] == ["background", "ground", "car", "cone"]
    expected = np.bincount(
        np.concatenate(
            [np.where(class_ids(i) == 255, 0, class_ids(i) + 1).ravel() for i in range(4)]
        ),
        minlength=4,
    )
    assert list(report["splits"]["train"]["class_pixels"].values()) == expected.tolist()
    chart = tmp_path / "out" / "class_frequencies.png"
    assert PILImage.open(chart).size[0] > 300


def _broken(tmp_path: Path, case: str) -> tuple[Path, str]:
    """A dataset with one problem, and the line ``dataset check`` must print for it."""
    spec = index_dataset(tmp_path / case)
    root = spec.parent
    if case == "missing_mask":
        (root / "labels/train/f002.png").unlink()
        return spec, r"f002.jpg: no mask \(expected .*labels/train/f002.png\)"
    if case == "size_differs":
        write_gray(root / "labels/train/f001.png", np.full((24, 32), 10, np.uint8))
        return spec, r"labels/train/f001.png: 32x24, its image is 64x48"
    if case == "unknown_id":
        ids = np.asarray(PILImage.open(root / "labels/train/f000.png")).copy()
        ids[5, 5], ids[6, 6] = 3, 99
        write_gray(root / "labels/train/f000.png", ids)
        return spec, r"labels/train/f000.png: ids not in the class list: 3, 99"
    if case == "rgb_mask":
        write_rgb(root / "labels/train/f003.png", colour_mask(class_ids(3)))
        return spec, r"labels/train/f003.png: an RGB mask \(RGB\) where index .* was declared"
    if case == "empty_split":
        spec.write_text(spec.read_text().replace("images/val/*.jpg", "images/val/*.png"))
        return spec, r"split val: no frames found \(images .*images/val/\*\.png\)"
    if case == "too_small_for_a_split":
        text = spec.read_text().replace(
            "labels/val/{stem}.png'}", "labels/val/{stem}.png', range: [0.0, 0.4]}"
        )
        spec.write_text(text)
        return spec, r"split val: no frames \(2 listed, range \[0.0, 0.4\] keeps none\)"
    if case == "no_val_split":
        spec.write_text(spec.read_text().split("  val:")[0])
        return spec, r"no val split \(splits: train\)"
    raise AssertionError(case)


BROKEN = [
    "missing_mask",
    "size_differs",
    "unknown_id",
    "rgb_mask",
    "empty_split",
    "too_small_for_a_split",
    "no_val_split",
]


@pytest.mark.parametrize("case", BROKEN)
def test_each_problem_is_one_line_naming_its_file(tmp_path: Path, case: str) -> None:
    spec, expected = _broken(tmp_path, case)
    report = check_dataset(load_dataset_spec(spec), progress=False)
    assert not report.ok
    assert len(report.errors) == 1, report.errors
    assert __import__("re").search(expected, report.errors[0]), report.errors[0]


def test_check_exits_1_on_errors_and_0_on_warnings(tmp_path: Path) -> None:
    spec, _ = _broken(tmp_path, "unknown_id")
    result = _check(spec, tmp_path / "out")
    assert result.returncode == 1, result.stdout + result.stderr
    assert len(_lines(result, "error")) == 1
    assert "training cannot start" in result.stdout.splitlines()[-1]

    spec = index_dataset(tmp_path / "no_cones")
    for mask in (spec.parent / "labels" / "train").glob("*.png"):
        ids = np.asarray(PILImage.open(mask)).copy()
        ids[ids == 12] = 10
        write_gray(mask, ids)
    result = _check(spec, tmp_path / "out2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _lines(result, "warning") == ["warning: class cone has no pixels in train"]


def test_a_malformed_spec_is_a_one_line_error_with_exit_2(tmp_path: Path) -> None:
    spec = index_dataset(tmp_path)
    spec.write_text(spec.read_text().replace("format: index", "format: index\nclases: []"))
    result = _check(spec, tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"seg-perception dataset: error: {spec}: clases: unknown key "
        "(known: name, root, format, classes, ignore, splits, remap, remap_colors)"
    ]
    assert not (tmp_path / "out").exists()
