"""The uncertain-frames stage: which frames it saves, what it writes, and that a full
quota, a full queue or an unwritable folder never stops a frame."""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from seg_perception.classes import CAMVID, IGNORE_INDEX
from seg_perception.inference.segmentation_pipeline import SegmentationPipeline
from seg_perception.models import build_model
from seg_perception.stages.base import BuildContext, Frame
from seg_perception.stages.frame_pipeline import FramePipeline
from seg_perception.stages.segmentation_params import ParameterError, SegmentationParams
from seg_perception.stages.uncertain_frames import (
    CSV_HEADER,
    UNCERTAIN_FRAMES_STAGE,
    UncertainFramesStage,
    frame_score,
    labelmap_text,
)

WAIT_S = 10.0
HEIGHT, WIDTH = 48, 64


def frame(sec: float, confidence: float = 0.3, seed: int = 0) -> Frame:
    """A synthetic frame: random pixels and labels (some ignored), uniform confidence."""
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    labels = rng.integers(0, CAMVID.num_classes, (HEIGHT, WIDTH), dtype=np.uint8)
    labels[:4] = IGNORE_INDEX
    data = {"labels": labels, "confidence": np.full((HEIGHT, WIDTH), confidence, np.float32)}
    stamp = (int(sec), round((sec - int(sec)) * 1e9))
    return Frame(rgb, stamp, "camera", data)


def saver(root: Path, **kwargs) -> UncertainFramesStage:
    return UncertainFramesStage(root, CAMVID, **{"min_interval_s": 0.0, **kwargs})


def saved_names(root: Path) -> list[str]:
    return sorted(path.name for path in (root / "images").iterdir())


def test_uncertain_frames_are_saved_with_their_labels(tmp_path: Path) -> None:
    stage = saver(tmp_path / "label_me")
    unsure, sure = frame(12.5, 0.3), frame(13.0, 0.9, seed=1)
    assert stage(unsure) == {} and stage(sure) == {}
    assert stage.wait_idle(WAIT_S)
    root = tmp_path / "label_me"
    assert saved_names(root) == ["12_500000000.png"]
    image = cv2.imread(str(root / "images" / "12_500000000.png"), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), unsure.rgb)
    mask = cv2.imread(str(root / "masks" / "12_500000000.png"), cv2.IMREAD_UNCHANGED)
    assert mask.dtype == np.uint8 and mask.ndim == 2
    np.testing.assert_array_equal(mask, unsure.data["labels"])  # 255 (ignore) kept
    lines = (root / "uncertain.csv").read_text().splitlines(keepends=True)
    assert lines == [CSV_HEADER, "12_500000000.png,12.500000000,0.3000,mean\n"]
    assert not [p for p in root.rglob("*") if p.name.startswith(".")]  # no temp files left
    counters = stage.counters()
    assert counters["uncertain_frames_saved"] == 1
    on_disk = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert counters["uncertain_frames_bytes"] == on_disk
    assert stage.values() == {"uncertain_frames_state": "ok", "uncertain_frames_score": "0.900"}


def test_labelmap_is_cvat_s(tmp_path: Path) -> None:
    saver(tmp_path)
    lines = (tmp_path / "labelmap.txt").read_text().splitlines()
    assert lines[0] == "# label:color_rgb:parts:actions"
    assert lines[1:3] == ["Sky:128,128,128::", "Building:128,0,0::"]
    assert len(lines) == 1 + CAMVID.num_classes
    assert labelmap_text(CAMVID) == (tmp_path / "labelmap.txt").read_text()


def test_the_minimum_interval_follows_the_stamps(tmp_path: Path) -> None:
    stage = saver(tmp_path, min_interval_s=5.0)
    for sec in (100.0, 102.0, 105.0, 109.9, 110.0, 3.0):  # the last: a bag played again
        stage(frame(sec))
    assert stage.wait_idle(WAIT_S)
    names = ["100_000000000.png", "105_000000000.png", "110_000000000.png", "3_000000000.png"]
    assert saved_names(tmp_path) == sorted(names)
    assert stage.counters()["uncertain_frames_skipped_interval"] == 2


def test_a_repeated_stamp_is_saved_once_even_without_interval(tmp_path: Path) -> None:
    stage = saver(tmp_path)
    stage(frame(7.0))
    stage(frame(7.0))
    assert stage.wait_idle(WAIT_S)
    assert stage.counters()["uncertain_frames_saved"] == 1


def test_the_quantile_sees_a_small_unsure_region() -> None:
    confidence = np.full((HEIGHT, WIDTH), 0.95, np.float32)
    confidence[: HEIGHT // 5] = 0.2
    assert frame_score(confidence, "mean", 0.1) > 0.8
    assert frame_score(confidence, "quantile", 0.1) == pytest.approx(0.2)
    large = np.full((1080, 1920), 0.5, np.float32)  # scored on a grid
    assert frame_score(large, "quantile", 0.1) == pytest.approx(0.5)


def test_the_quota_stops_saving(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = saver(tmp_path)
    first(frame(1.0))
    assert first.wait_idle(WAIT_S)
    used = first.counters()["uncertain_frames_bytes"]
    stage = saver(tmp_path, quota_bytes=used + 100)  # counts what is there; no room for more
    assert stage.counters()["uncertain_frames_bytes"] == used
    with caplog.at_level(logging.WARNING):
        for sec in (2.0, 3.0, 4.0):
            stage(frame(sec))
        assert stage.wait_idle(WAIT_S)
    assert saved_names(tmp_path) == ["1_000000000.png"]
    assert stage.values()["uncertain_frames_state"] == "quota reached"
    assert stage.counters()["uncertain_frames_saved"] == 0
    assert len([r for r in caplog.records if "quota" in r.getMessage()]) == 1
    assert saver(tmp_path, quota_bytes=used).folder.quota_reached  # full at start


def test_an_unwritable_folder_is_counted_and_frames_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the folder's parent should be")  # fails as root too
    with caplog.at_level(logging.WARNING):
        stage = saver(blocker / "label_me")
        assert stage.values()["uncertain_frames_state"].startswith("cannot write: ")
        for sec in (1.0, 2.0, 3.0):
            assert stage(frame(sec)) == {}
        assert stage.wait_idle(WAIT_S)
    assert stage.counters()["uncertain_frames_write_errors"] == 4  # start-up and 3 saves
    assert stage.counters()["uncertain_frames_saved"] == 0
    assert len([r for r in caplog.records if "cannot write" in r.getMessage()]) == 1
    blocker.unlink()  # the folder can be made now: saving resumes
    stage(frame(4.0))
    assert stage.wait_idle(WAIT_S)
    assert saved_names(blocker / "label_me") == ["4_000000000.png"]
    assert stage.values()["uncertain_frames_state"] == "ok"


def test_a_full_queue_drops_frames_without_waiting(tmp_path: Path) -> None:
    stage = saver(tmp_path, queue_size=2)
    release = threading.Event()
    write = stage.folder._write

    def slow_write(job) -> None:
        release.wait(WAIT_S)
        write(job)

    stage.folder._write = slow_write
    for sec in range(1, 6):
        stage(frame(float(sec)))
    assert stage.counters()["uncertain_frames_dropped"] == 3
    release.set()
    assert stage.wait_idle(WAIT_S)
    assert saved_names(tmp_path) == ["1_000000000.png", "2_000000000.png"]


def test_closing_writes_the_queued_frames_then_ends_the_writer(tmp_path: Path) -> None:
    stage = saver(tmp_path, queue_size=4)
    for sec in range(1, 4):
        stage(frame(float(sec), seed=sec))
    writer = stage.folder._thread
    assert writer is not None
    pipeline = FramePipeline(
        SegmentationPipeline(build_model("unet", CAMVID.num_classes), CAMVID), [stage]
    )
    pipeline.close()  # what a node's cleanup calls: the writer's thread is gone after it
    assert not writer.is_alive()
    assert saved_names(tmp_path) == ["1_000000000.png", "2_000000000.png", "3_000000000.png"]
    stage(frame(9.0))  # closed: nothing more is queued, no thread is started
    assert stage.folder._thread is None and saved_names(tmp_path)[-1] == "3_000000000.png"


def test_parameters_build_the_stage_only_when_asked(tmp_path: Path) -> None:
    context = BuildContext(CAMVID, log=lambda _: None)
    assert UNCERTAIN_FRAMES_STAGE.build(SegmentationParams(), context) is None
    params = SegmentationParams(
        uncertain_frames_dir=str(tmp_path),
        uncertain_threshold=0.5,
        uncertain_statistic="quantile",
        uncertain_quantile=0.2,
        uncertain_quota_mb=0.5,
    )
    stage = UNCERTAIN_FRAMES_STAGE.build(params, context)
    assert stage.statistic_label == "quantile 0.2" and stage.quota_bytes == 500_000
    assert stage.min_interval_ns == 5_000_000_000


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("uncertain_threshold", 0.0),
        ("uncertain_threshold", 1.5),
        ("uncertain_statistic", "median"),
        ("uncertain_quantile", 0.0),
        ("uncertain_quantile", 0.6),
        ("uncertain_min_interval_s", -1.0),
        ("uncertain_quota_mb", 0.0),
    ],
)
def test_invalid_values_name_the_parameter(name: str, value: object) -> None:
    params = dataclasses.replace(SegmentationParams(), **{name: value})
    with pytest.raises(ParameterError, match=rf"^{name} "):
        params.validate()


@pytest.mark.usefixtures("torch_one_thread")
def test_the_stage_runs_in_a_frame_pipeline(tmp_path: Path) -> None:
    model = build_model("lraspp", CAMVID.num_classes, inter_channels=16)  # untrained: unsure
    segmentation = SegmentationPipeline(model, CAMVID, (WIDTH, HEIGHT), "cpu")
    stage = saver(tmp_path, threshold=1.0)
    frames = FramePipeline(segmentation, [stage])
    outcome = frames.run(lambda: frame(0.0).rgb, (42, 7))
    assert outcome.status == "processed"
    assert stage.wait_idle(WAIT_S)
    mask = cv2.imread(str(tmp_path / "masks" / "42_000000007.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(mask, outcome.frame.data["labels"])
    assert frames.counters()["uncertain_frames_saved"] == 1
    assert frames.stage_values()["uncertain_frames_state"] == "ok"
    assert "uncertain_frames" in frames.latency()[1]
