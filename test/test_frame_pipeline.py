"""The per-frame stage pipeline (no ROS): order, timing, error counting, outputs, the
stage registry and the newest-frame worker."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from seg_perception.classes import CAMVID
from seg_perception.image_codec import ImageDecodeError
from seg_perception.inference.segmentation_pipeline import SegmentationPipeline
from seg_perception.latest_worker import LatestOnlyWorker
from seg_perception.models import build_model
from seg_perception.stages.base import JSON, Frame, Output
from seg_perception.stages.build import build_frame_pipeline
from seg_perception.stages.frame_pipeline import FramePipeline, FrameRejected
from seg_perception.stages.registry import OPTIONAL_STAGES
from seg_perception.stages.segmentation_params import PARAM_SPECS, SegmentationParams

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def segmentation() -> SegmentationPipeline:
    model = build_model("lraspp", CAMVID.num_classes, inter_channels=16)
    return SegmentationPipeline(model, CAMVID, (64, 48), "cpu")


class CountCars:
    """A stage as a new capability would add one: consumes labels, produces a document."""

    name = "car_count"
    consumes = ("labels",)
    produces = ("car_pixels",)
    outputs = (Output("car_pixels", "cars", JSON),)

    def __call__(self, frame: Frame) -> dict[str, Any]:
        frame.timings_ms["car_count_inner"] = 0.0
        return {"car_pixels": str(int((frame.data["labels"] == 8).sum()))}


class Explodes:
    name = "explodes"
    consumes = ("labels",)
    produces = ()
    outputs = ()

    def __call__(self, frame: Frame) -> dict[str, Any]:
        raise RuntimeError("boom")


def rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)


def test_stages_run_in_order_and_every_output_reaches_the_sink(segmentation) -> None:
    frames = FramePipeline(segmentation, [CountCars()])
    delivered: list[tuple[str, Any]] = []
    outcome = frames.run(
        rgb,
        (3, 4),
        "cam",
        lambda frame, outputs: delivered.extend((o.topic, v) for o, v in outputs),
    )
    assert outcome.status == "processed"
    assert [topic for topic, _ in delivered] == ["labels", "confidence", "overlay", "cars"]
    assert outcome.frame.stamp == (3, 4) and outcome.frame.frame_id == "cam"
    timings = outcome.frame.timings_ms
    for key in ("decode", "segment", "inference", "overlay", "car_count", "car_count_inner"):
        assert key in timings
    assert timings["total"] >= timings["segment"] + timings["car_count"]
    assert timings["non_inference"] == pytest.approx(
        timings["total"] - timings["inference"] - timings["car_count"]
    )
    assert frames.counters()["processed"] == 1
    assert "car_count" in frames.latency()[1]


class CarShare:
    """Consumes what ``CountCars`` produces (so a subscriber to it keeps CountCars on)."""

    name = "car_share"
    consumes = ("car_pixels",)
    produces = ("car_share",)
    outputs = (Output("car_share", "car_share", JSON),)

    def __call__(self, frame: Frame) -> dict[str, Any]:
        return {"car_share": frame.data["car_pixels"]}


class Spy:
    """Wraps a stage and counts its calls."""

    def __init__(self, stage) -> None:
        self.stage, self.calls = stage, 0
        self.name, self.consumes = stage.name, stage.consumes
        self.produces, self.outputs = stage.produces, stage.outputs

    def __call__(self, frame: Frame) -> dict[str, Any]:
        self.calls += 1
        return self.stage(frame)


def test_only_the_stages_of_wanted_outputs_run(segmentation) -> None:
    cars, share = Spy(CountCars()), Spy(CarShare())
    frames = FramePipeline(segmentation, [cars, share])
    delivered: list[list[str]] = []

    def run(wanted) -> Frame:
        outcome = frames.run(
            rgb,
            sink=lambda f, outputs: delivered.append([o.key for o, _ in outputs]),
            wanted=wanted,
        )
        assert outcome.status == "processed", outcome.reason
        return outcome.frame

    frame = run(frozenset())  # nobody subscribed: the labels only
    assert delivered[-1] == ["labels"] and (cars.calls, share.calls) == (0, 0)
    assert "confidence" not in frame.data and "overlay" not in frame.data
    assert frame.timings_ms["overlay"] == 0.0 and frame.timings_ms["car_count"] == 0.0
    run(frozenset({"overlay", "confidence"}))
    assert delivered[-1] == ["labels", "confidence", "overlay"] and cars.calls == 0
    run(frozenset({"car_share"}))  # what it consumes runs too, but is not published
    assert delivered[-1] == ["labels", "car_share"] and (cars.calls, share.calls) == (1, 1)
    run(None)  # bag-eval: everything
    assert delivered[-1] == ["labels", "confidence", "overlay", "car_pixels", "car_share"]
    counters = frames.counters()
    assert counters["stage_runs (overlay)"] == 2 and counters["stage_runs (car_count)"] == 2
    assert counters["processed"] == 4


def test_stages_without_outputs_or_eager_ones_always_run(segmentation) -> None:
    class Saver:  # writes files: no outputs, needs the confidence
        name, consumes, produces, outputs = "saver", ("confidence",), (), ()

        def __call__(self, frame: Frame) -> dict[str, Any]:
            return {}

    class Tracker(CountCars):  # follows something frame by frame
        name, eager = "tracker", True

    saver, tracker = Spy(Saver()), Spy(Tracker())
    tracker.eager = True
    frames = FramePipeline(segmentation, [saver, tracker])
    outcome = frames.run(rgb, wanted=frozenset())
    assert (saver.calls, tracker.calls) == (1, 1)
    assert "confidence" in outcome.frame.data  # the saver needs it


def test_a_stage_that_needs_what_nobody_produced_is_refused(segmentation) -> None:
    class NeedsFlow(CountCars):
        consumes = ("flow",)

    with pytest.raises(ValueError, match=r"needs \['flow'\]"):
        FramePipeline(segmentation, [NeedsFlow()])


def test_bad_frames_are_counted_and_the_next_frame_is_served(segmentation) -> None:
    frames = FramePipeline(segmentation, [Explodes()])

    def undecodable() -> np.ndarray:
        raise ImageDecodeError("truncated JPEG")

    def native_error() -> np.ndarray:
        raise MemoryError("decoder asked for 40000x40000")

    assert frames.run(undecodable).status == "rejected"
    assert frames.last_problem == "truncated JPEG"
    assert frames.run(native_error).status == "failed"
    assert "MemoryError" in frames.last_problem
    failed = frames.run(rgb)
    assert failed.status == "failed" and failed.reason == "RuntimeError: boom"
    counts = {"processed": 0, "rejected": 1, "failed": 2}
    assert frames.counters() == {**counts, "stage_runs (overlay)": 0, "stage_runs (explodes)": 0}
    with pytest.raises(FrameRejected):
        frames.run(lambda: (_ for _ in ()).throw(FrameRejected("x")), fatal=(FrameRejected,))
    assert FramePipeline(segmentation).run(rgb).status == "processed"


def test_parameters_build_the_stages_they_ask_for() -> None:
    off, trained = build_frame_pipeline(SegmentationParams(device="cpu"), log=lambda _: None)
    assert trained
    assert [s.name for s in off.stages] == ["segment", "overlay"]
    params = SegmentationParams(device="cpu", instance_mode="fast", overlay_alpha=0.25)
    fast, _ = build_frame_pipeline(params, log=lambda _: None)
    assert [s.name for s in fast.stages] == ["segment", "overlay", "instances_total"]
    assert fast.overlay.alpha == 0.25
    topics = [o.topic for o in fast.outputs()]
    assert topics[-3:] == ["instances/ids", "instances/overlay", "instances/detections"]


def test_untrained_model_is_reported() -> None:
    notes: list[str] = []
    params = SegmentationParams(device="cpu", model="fcn8s")
    _, trained = build_frame_pipeline(params, log=notes.append)
    assert not trained and "UNTRAINED" in notes[0]


def test_stage_parameters_are_node_parameters() -> None:
    names = {spec.name for spec in PARAM_SPECS}
    for stage in OPTIONAL_STAGES:
        assert {spec.name for spec in stage.params} <= names
    assert len(names) == len(PARAM_SPECS)  # no two stages declare the same name


@pytest.mark.parametrize(
    ("name", "value"),
    [("overlay_alpha", float("nan")), ("warn_throttle_sec", float("inf")), ("flow_max_gap", -0.0)],
)
def test_float_parameters_reject_nan_and_infinity(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"^{name} must"):
        SegmentationParams.spec(name).validate(value)


def test_worker_takes_the_newest_item_and_counts_drops() -> None:
    release = threading.Event()
    handled: list[int] = []

    def handle(item: int) -> None:
        release.wait(5.0)
        handled.append(item)

    worker = LatestOnlyWorker(handle)
    worker.start()
    worker.submit(1)
    deadline = time.monotonic() + 5.0
    while worker._pending is not None and time.monotonic() < deadline:
        time.sleep(0.01)  # the worker took item 1 and waits in handle
    for item in (2, 3, 4):
        worker.submit(item)
    release.set()
    deadline = time.monotonic() + 5.0
    while len(handled) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert handled == [1, 4]
    assert (worker.received, worker.dropped) == (4, 2)


def test_worker_death_is_reported_and_it_restarts() -> None:
    def handle(item: str) -> None:
        if item == "poison":
            raise SystemExit("killed on purpose")

    worker = LatestOnlyWorker(handle)
    worker.start()
    worker.submit("poison")
    deadline = time.monotonic() + 5.0
    while worker.alive and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not worker.alive and worker.death == "SystemExit: killed on purpose"
    worker.start()
    assert worker.alive and worker.death is None and worker.restarts == 1
    worker.stop()
    assert not worker.alive


def test_empty_class_names_take_the_checkpoint_s_classes() -> None:
    params = SegmentationParams(device="cpu", class_names=[], palette=[])
    params.validate()
    frames, _ = build_frame_pipeline(params, log=lambda _: None)
    assert frames.classes == CAMVID
