"""Bag tools without a ROS graph: make -> eval -> read back, for every storage format and
encoding; the mIoU of ``bag-eval`` against ``eval`` on the same 20 CamVid test frames;
every bad input (one-line error, non-zero exit, nothing left behind).

Frames are small (160x120 from the bundled sample) except in the mIoU check, and the
model runs on one CPU thread.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from cli_process import run_cli

from seg_perception.bags.bag_eval import evaluate_bag, output_topics
from seg_perception.bags.bag_formats import ros2_typestore
from seg_perception.bags.bag_make import ENCODINGS, LABEL_TOPIC, make_bag
from seg_perception.bags.bag_reader import BagReader, read_frames
from seg_perception.bags.bag_writer import BagWriter
from seg_perception.bags.image_messages import (
    COMPRESSED_TYPE,
    IMAGE_TYPE,
    BagError,
    Stamp,
    UnsupportedImageError,
    message_to_label,
    message_to_rgb,
)
from seg_perception.classes import CAMVID
from seg_perception.cli import main as cli_main
from seg_perception.data import CamVidData
from seg_perception.data.camvid import DATA_ROOT_ENV, read_label, read_rgb
from seg_perception.evaluation.metrics import ConfusionMatrix
from seg_perception.evaluation.segmentation_eval import evaluate_split
from seg_perception.image_codec import encode_compressed, encode_raw
from seg_perception.inference.segmentation_pipeline import SegmentationPipeline
from seg_perception.samples import CAMVID_SAMPLE, CAMVID_SAMPLE_BAG

FRAMES = 4
SIZE = (160, 120)  # width, height of the round-trip frames
RATE = 5.0
START = 1_700_000_000.25
FRAME_ID = "camera_test"
# storage: output name (a bare file, a folder with metadata.yaml, a ROS 1 file)
LAYOUTS = {"mcap": "in.mcap", "sqlite3": "in_sqlite3", "ros1": "in.bag"}
LOSSLESS = ("rgb8", "bgr8", "png")
EVAL_FRAMES = 20
MIOU_TOLERANCE = 0.001  # 0.1 percentage points
OUTPUT_ENCODINGS = {"labels": "mono8", "overlay": "rgb8", "confidence": "32FC1"}


@pytest.fixture(scope="module")
def pipeline() -> Iterator[SegmentationPipeline]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield SegmentationPipeline.from_checkpoint(None, CAMVID, device="cpu")
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small_sequence(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(images, labels) folders: the first bundled frames at 160x120, as lossless PNG."""
    root = tmp_path_factory.mktemp("sequence")
    images, labels = root / "images", root / "labels"
    images.mkdir()
    labels.mkdir()
    for path in sorted((CAMVID_SAMPLE / "images").glob("*.jpg"))[:FRAMES]:
        rgb = cv2.resize(read_rgb(path), SIZE, interpolation=cv2.INTER_AREA)
        label = cv2.imread(str(CAMVID_SAMPLE / "labels" / f"{path.stem}.png"), -1)
        label = cv2.resize(label, SIZE, interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(images / f"{path.stem}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(labels / f"{path.stem}.png"), label)
    return images, labels


def expected_rgb(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """What decoding a frame stored with ``encoding`` gives (mono8 loses colour)."""
    if encoding == "mono8":
        return cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return rgb


def expected_stamps(count: int, rate: float = RATE, start: float = START) -> list[Stamp]:
    first = Stamp.from_ns(round(start * 1e9))
    return [Stamp.from_ns(first.ns + round(i * 1e9 / rate)) for i in range(count)]


def leftovers(folder: Path) -> list[str]:
    """Hidden temporaries the atomic writers would leave after a failure."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("storage", list(LAYOUTS))
def test_make_eval_read_back(
    tmp_path: Path,
    small_sequence: tuple[Path, Path],
    pipeline: SegmentationPipeline,
    storage: str,
    encoding: str,
) -> None:
    images, labels = small_sequence
    bag_path = tmp_path / LAYOUTS[storage]
    made = make_bag(
        images,
        bag_path,
        RATE,
        encoding=encoding,
        labels=labels,
        frame_id=FRAME_ID,
        storage=storage,
        start_time=START,
        progress=False,
    )
    assert made.storage == storage and made.frames == FRAMES
    assert (bag_path / "metadata.yaml").is_file() == (storage == "sqlite3")
    compressed = encoding in ("jpeg", "png")
    image_type = COMPRESSED_TYPE if compressed else IMAGE_TYPE
    stamps = expected_stamps(FRAMES)
    sources = [read_rgb(p) for p in sorted(images.glob("*.png"))]

    with BagReader(bag_path) as bag:
        assert bag.topics() == {
            made.image_topic: (image_type, FRAMES),
            LABEL_TOPIC: (IMAGE_TYPE, FRAMES),
        }
        assert bag.is_ros1 == (storage == "ros1")
        for index, message in enumerate(bag.messages([made.image_topic])):
            msg = bag.deserialize(message)
            assert Stamp.of(msg) == stamps[index] and message.timestamp == stamps[index].ns
            assert msg.header.frame_id == FRAME_ID
            assert (msg.format if compressed else msg.encoding) == encoding
            decoded = message_to_rgb(msg, message.msgtype)
            reference = expected_rgb(sources[index], encoding)
            if encoding == "jpeg":
                assert np.abs(decoded.astype(int) - reference).mean() < 3.0
            else:
                np.testing.assert_array_equal(decoded, reference)
        for index, message in enumerate(bag.messages([LABEL_TOPIC])):
            msg = bag.deserialize(message)
            assert (msg.encoding, Stamp.of(msg)) == ("mono8", stamps[index])
        report = evaluate_bag(
            bag, pipeline, made.image_topic, LABEL_TOPIC, tmp_path / "out.mcap", progress=False
        )

    assert report["frames"] == FRAMES and report["skipped_frames"] == 0
    assert report["labelled_frames"] == FRAMES and report["unmatched_labels"] == 0
    assert 0.0 <= report["mean_iou"] <= 1.0
    assert {"decode", "inference", "total"} <= set(report["latency_ms"])
    assert report["latency_ms"]["total"]["p90"] > 0 and report["fps"] > 0

    topics = output_topics()
    with BagReader(tmp_path / "out.mcap") as out:
        assert out.topics() == {topic: (IMAGE_TYPE, FRAMES) for topic in topics.values()}
        assert not out.is_ros1
        received: dict[str, list] = {name: [] for name in topics}
        names = {topic: name for name, topic in topics.items()}
        for message in out.messages():
            msg = out.deserialize(message)
            received[names[message.topic]].append((message.timestamp, msg))
    for name, messages in received.items():
        assert [timestamp for timestamp, _ in messages] == [s.ns for s in stamps], name
        assert [Stamp.of(msg) for _, msg in messages] == stamps, name
        for _, msg in messages:
            assert msg.header.frame_id == FRAME_ID
            assert msg.encoding == OUTPUT_ENCODINGS[name]
            assert (msg.width, msg.height) == SIZE
    first_input = expected_rgb(sources[0], encoding) if encoding != "jpeg" else None
    if first_input is not None:  # the output is the pipeline's own answer for that frame
        labels_out = message_to_label(received["labels"][0][1], IMAGE_TYPE)
        np.testing.assert_array_equal(labels_out, pipeline(first_input).labels)


def test_bare_db3_and_mcap_folder(tmp_path: Path, small_sequence: tuple[Path, Path]) -> None:
    images, labels = small_sequence
    for out, storage in ((tmp_path / "bare.db3", None), (tmp_path / "folder", "mcap")):
        made = make_bag(images, out, RATE, labels=labels, storage=storage, progress=False)
        with BagReader(out) as bag:
            assert bag.count(made.image_topic) == FRAMES and bag.count(LABEL_TOPIC) == FRAMES
    assert (tmp_path / "folder" / "metadata.yaml").is_file()
    assert leftovers(tmp_path) == []


def test_folder_without_metadata_opens_its_storage_file(
    tmp_path: Path, small_sequence: tuple[Path, Path]
) -> None:
    """A recording that stopped before writing metadata.yaml is still readable."""
    make_bag(small_sequence[0], tmp_path / "rec", RATE, progress=False)
    (tmp_path / "rec" / "metadata.yaml").unlink()
    with BagReader(tmp_path / "rec") as bag:
        assert bag.path.suffix == ".mcap" and bag.count("/camera/image_raw") == FRAMES


def test_ros1_messages_convert_to_ros2_cdr(
    tmp_path: Path, small_sequence: tuple[Path, Path]
) -> None:
    make_bag(small_sequence[0], tmp_path / "in.bag", RATE, frame_id=FRAME_ID, progress=False)
    with BagReader(tmp_path / "in.bag") as bag:
        convert = bag.cdr_converter(IMAGE_TYPE)
        message = next(bag.messages())
        original = bag.deserialize(message)
    converted = ros2_typestore().deserialize_cdr(convert(message.data), IMAGE_TYPE)
    assert Stamp.of(converted) == Stamp.of(original)
    assert converted.header.frame_id == FRAME_ID
    np.testing.assert_array_equal(converted.data, original.data)


def test_sample_bag_holds_the_bundled_frames() -> None:
    with BagReader(CAMVID_SAMPLE_BAG) as bag:
        frames = read_frames(bag, "/camera/image_raw/compressed", LABEL_TOPIC)
    paths = sorted((CAMVID_SAMPLE / "images").glob("*.jpg"))
    assert len(frames) == len(paths) == 30
    assert CAMVID_SAMPLE_BAG.stat().st_size < 5_000_000
    for (_, rgb, label), path in zip(frames, paths, strict=True):
        stored = cv2.imread(str(CAMVID_SAMPLE / "labels" / f"{path.stem}.png"), -1)
        np.testing.assert_array_equal(label, stored)
        assert np.abs(rgb.astype(int) - read_rgb(path)).mean() < 2.0


def test_bag_make_cli_writes_a_ros1_bag(
    tmp_path: Path, small_sequence: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "cli.bag"
    argv = ["bag-make", "--images", str(small_sequence[0]), "--out", str(out), "--rate", "2"]
    assert cli_main([*argv, "--ros1", "--encoding", "bgr8", "--limit", "2"]) == 0
    assert "2 frames (bgr8)" in capsys.readouterr().out
    with BagReader(out) as bag:
        assert bag.is_ros1 and bag.count("/camera/image_raw") == 2


@pytest.mark.parametrize(
    ("verb", "flags"),
    [
        ("bag-eval", ["--bag", "--image-topic", "--label-topic", "--checkpoint", "--out"]),
        ("bag-play", ["--bag", "--rate", "--loop", "--topics"]),
        ("bag-record", ["--topics", "--out", "--duration"]),
        ("bag-make", ["--images", "--labels", "--out", "--rate", "--encoding", "--frame-id"]),
    ],
)
def test_verbs_document_their_flags(
    verb: str, flags: list[str], capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main([verb, "--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out
    assert all(flag in usage for flag in flags), usage


# ---------------------------------------------------------------- mIoU against `eval`


@pytest.fixture(scope="module")
def camvid_root() -> Path:
    root = os.environ.get(DATA_ROOT_ENV)
    if not root or not (Path(root) / "camvid" / "test.txt").is_file():
        pytest.skip(f"{DATA_ROOT_ENV} does not point at a CamVid data root")
    return Path(root)


@pytest.fixture(scope="module")
def reference_miou(camvid_root: Path, pipeline: SegmentationPipeline) -> dict[str, float]:
    """``eval --limit 20`` on the test split, and the same frames seen in grey (mono8)."""
    confusion, _, frames = evaluate_split(pipeline, CamVidData(camvid_root), "test", EVAL_FRAMES)
    assert frames == EVAL_FRAMES
    grey = ConfusionMatrix(CAMVID.num_classes)
    folder = camvid_root / "camvid"
    for stem in (folder / "test.txt").read_text().split()[:EVAL_FRAMES]:
        rgb = expected_rgb(read_rgb(folder / "test" / f"{stem}.jpg"), "mono8")
        grey.update(read_label(folder / "testannot" / f"{stem}.png"), pipeline(rgb).labels)
    return {"colour": confusion.mean_iou(), "grey": grey.mean_iou()}


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("storage", list(LAYOUTS))
def test_bag_eval_miou_equals_eval(
    tmp_path: Path,
    camvid_root: Path,
    pipeline: SegmentationPipeline,
    reference_miou: dict[str, float],
    storage: str,
    encoding: str,
    record_property,
) -> None:
    """A bag of the first 20 test frames scores what ``eval --limit 20`` scores.

    mono8 keeps no colour, so its reference is the same evaluation of the grey frames.
    """
    folder = camvid_root / "camvid"
    bag_path = tmp_path / LAYOUTS[storage]
    made = make_bag(
        folder / "test",
        bag_path,
        30.0,
        encoding=encoding,
        labels=folder / "testannot",
        storage=storage,
        limit=EVAL_FRAMES,
        progress=False,
    )
    with BagReader(bag_path) as bag:
        report = evaluate_bag(bag, pipeline, made.image_topic, LABEL_TOPIC, progress=False)
    reference = reference_miou["grey" if encoding == "mono8" else "colour"]
    record_property("bag_miou", report["mean_iou"])
    record_property("eval_miou", reference)
    assert report["labelled_frames"] == EVAL_FRAMES
    if encoding in LOSSLESS or encoding == "mono8":
        assert report["mean_iou"] == pytest.approx(reference, abs=1e-12)
    assert abs(report["mean_iou"] - reference) <= MIOU_TOLERANCE, (report["mean_iou"], reference)


@pytest.mark.slow
def test_bag_eval_cli_reports_eval_miou(
    tmp_path: Path,
    camvid_root: Path,
    reference_miou: dict[str, float],
    capsys: pytest.CaptureFixture,
) -> None:
    """The verbs end to end: ``bag-make`` then ``bag-eval``'s JSON report."""
    folder = camvid_root / "camvid"
    bag_path, report_path = tmp_path / "test20.mcap", tmp_path / "report.json"
    assert cli_main(
        ["bag-make", "--images", str(folder / "test"), "--labels", str(folder / "testannot"),
         "--out", str(bag_path), "--rate", "30", "--encoding", "jpeg", "--limit", "20"]
    ) == 0  # fmt: skip
    assert cli_main(
        ["bag-eval", "--bag", str(bag_path), "--image-topic", "/camera/image_raw/compressed",
         "--label-topic", LABEL_TOPIC, "--json", str(report_path), "--threads", "1",
         "--device", "cpu"]
    ) == 0  # fmt: skip
    report = json.loads(report_path.read_text())
    assert report["frames"] == report["labelled_frames"] == EVAL_FRAMES
    assert abs(report["mean_iou"] - reference_miou["colour"]) <= MIOU_TOLERANCE
    assert f"mean IoU {100 * report['mean_iou']:.2f} %" in capsys.readouterr().out


# ---------------------------------------------------------------- bad input


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    lines = [line for line in stderr.splitlines() if "error:" in line]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr, stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def cli_error(capsys: pytest.CaptureFixture, *argv: str) -> str:
    """Run a verb in-process; it must fail with exit code 2 and one error line."""
    assert cli_main(list(argv)) == 2
    stderr = capsys.readouterr().err
    assert_one_line_error(stderr)
    return stderr


def write_bag(path: Path, topics: dict[str, str], messages) -> None:
    """A bag with ``topics`` ({topic: type}) and ``messages(writer)`` -> [(topic, ns, msg)]."""
    with BagWriter(path) as bag:
        for topic, msgtype in topics.items():
            bag.add_topic(topic, msgtype)
        for topic, timestamp, message in messages(bag):
            bag.write(topic, timestamp, message)


def rgb_frame(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (SIZE[1], SIZE[0], 3), dtype=np.uint8)


def test_missing_bag_fails_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "out.mcap"
    result = run_cli("bag-eval", "--bag", str(tmp_path / "nope.mcap"), "--image-topic", "/x")
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "bag-eval", "not found")
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("storage", list(LAYOUTS))
def test_truncated_bag_fails_cleanly(
    tmp_path: Path, small_sequence: tuple[Path, Path], storage: str
) -> None:
    bag_path = tmp_path / LAYOUTS[storage]
    make_bag(small_sequence[0], bag_path, RATE, storage=storage, progress=False)
    storage_file = next(p for p in [bag_path, *bag_path.glob("*.db3")] if p.is_file())
    data = storage_file.read_bytes()
    storage_file.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.mcap"
    result = run_cli(
        "bag-eval", "--bag", str(bag_path), "--image-topic", "/camera/image_raw", "--out", str(out)
    )
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "cannot read bag")
    assert not out.exists() and leftovers(tmp_path) == []


def test_corrupt_bag_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for name in ("random.mcap", "random.bag", "random.db3"):
        (tmp_path / name).write_bytes(np.random.default_rng(1).bytes(50_000))
        stderr = cli_error(capsys, "bag-play", "--bag", str(tmp_path / name))
        assert "cannot read bag" in stderr
    (tmp_path / "notes.txt").write_text("not a bag")
    assert "unknown bag format" in cli_error(
        capsys, "bag-eval", "--bag", str(tmp_path / "notes.txt"), "--image-topic", "/x"
    )


def test_unknown_topic_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    stderr = cli_error(
        capsys, "bag-eval", "--bag", str(CAMVID_SAMPLE_BAG), "--image-topic", "/camera/nope"
    )
    assert "/camera/nope not in bag" in stderr and "/camera/labels" in stderr
    result = run_cli("bag-play", "--bag", str(CAMVID_SAMPLE_BAG), "--topics", "/camera/nope")
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "bag-play", "/camera/nope not in bag")


def test_unsupported_message_type_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bag_path = tmp_path / "chatter.mcap"
    string_type = "std_msgs/msg/String"
    write_bag(
        bag_path,
        {"/chatter": string_type},
        lambda bag: [("/chatter", 1, bag.typestore.types[string_type](data="hello"))],
    )
    stderr = cli_error(capsys, "bag-eval", "--bag", str(bag_path), "--image-topic", "/chatter")
    assert "holds std_msgs/msg/String, unsupported" in stderr
    stderr = cli_error(
        capsys,
        "bag-eval",
        "--bag",
        str(CAMVID_SAMPLE_BAG),
        "--image-topic",
        "/camera/image_raw/compressed",
        "--label-topic",
        "/camera/image_raw/compressed",
    )
    assert "unsupported here" in stderr


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("yuv422", "unsupported image encoding 'yuv422'"),
        ("compressedDepth", "unsupported compressed image format"),
        ("label 16UC1", "unsupported label encoding '16UC1'"),
    ],
)
def test_unsupported_encoding_fails_without_partial_output(
    tmp_path: Path, capsys: pytest.CaptureFixture, case: str, expected: str
) -> None:
    rgb = rgb_frame()
    stamp = Stamp(1_700_000_000, 0)

    def messages(bag: BagWriter):
        # a good frame first: the output bag is already being written when the bad one comes
        yield "/raw", 1, bag.image(stamp, FRAME_ID, encode_raw(rgb, "rgb8"))
        if case == "yuv422":
            bad = bag.image(Stamp(1_700_000_001, 0), FRAME_ID, encode_raw(rgb, "rgb8"))
            bad.encoding = "yuv422"
            yield "/raw", 2, bad
        elif case == "compressedDepth":
            data = encode_compressed(rgb, "png")
            yield (
                "/depth",
                2,
                bag.compressed_image(stamp, FRAME_ID, data, "16UC1; compressedDepth"),
            )
        else:
            label = bag.image(
                stamp, FRAME_ID, encode_raw(np.zeros(rgb.shape[:2], np.uint16), "mono16")
            )
            label.encoding = "16UC1"
            yield "/labels", 1, label

    topics = {"/raw": IMAGE_TYPE, "/depth": COMPRESSED_TYPE, "/labels": IMAGE_TYPE}
    write_bag(tmp_path / "bad.mcap", topics, messages)
    image_topic = "/depth" if case == "compressedDepth" else "/raw"
    out = tmp_path / "out" / "segmented.mcap"
    argv = ["bag-eval", "--bag", str(tmp_path / "bad.mcap"), "--image-topic", image_topic]
    argv += ["--out", str(out), "--json", str(tmp_path / "out" / "report.json")]
    if case.startswith("label"):
        argv += ["--label-topic", "/labels"]
    assert expected in cli_error(capsys, *argv)
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []


def test_label_size_mismatch_fails_cleanly(
    tmp_path: Path, small_sequence: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    images, labels = small_sequence
    wrong = tmp_path / "labels"
    wrong.mkdir()
    for path in sorted(labels.glob("*.png")):
        cv2.imwrite(str(wrong / path.name), cv2.imread(str(path), -1)[:-10])
    out = tmp_path / "made.mcap"
    result = run_cli(
        "bag-make", "--images", str(images), "--labels", str(wrong), "--out", str(out),
        "--rate", "5",
    )  # fmt: skip
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "bag-make", "160x110", "160x120")
    assert not out.exists() and leftovers(tmp_path) == []

    rgb = rgb_frame()

    def messages(bag: BagWriter):
        for second in range(2):
            stamp = Stamp(1_700_000_000 + second, 0)
            label = np.zeros((SIZE[1] // (1 + second), SIZE[0]), np.uint8)  # the 2nd is short
            yield "/image", stamp.ns, bag.image(stamp, FRAME_ID, encode_raw(rgb, "rgb8"))
            yield LABEL_TOPIC, stamp.ns, bag.image(stamp, FRAME_ID, encode_raw(label, "mono8"))

    write_bag(
        tmp_path / "mismatch.mcap", {"/image": IMAGE_TYPE, LABEL_TOPIC: IMAGE_TYPE}, messages
    )
    out = tmp_path / "segmented.mcap"
    stderr = cli_error(
        capsys, "bag-eval", "--bag", str(tmp_path / "mismatch.mcap"), "--image-topic", "/image",
        "--label-topic", LABEL_TOPIC, "--out", str(out), "--json", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert "160x60 but its image on /image is 160x120" in stderr
    assert not out.exists() and not (tmp_path / "r.json").exists()
    assert leftovers(tmp_path) == []


def test_bad_frames_are_skipped_and_counted(
    tmp_path: Path, pipeline: SegmentationPipeline
) -> None:
    rgb = rgb_frame()
    good = encode_raw(rgb, "rgb8")

    def messages(bag: BagWriter):
        truncated = bag.image(Stamp(2, 0), FRAME_ID, good)
        truncated.data = truncated.data[:-7]
        frames = [
            ("/raw", bag.image(Stamp(1, 0), FRAME_ID, good)),
            ("/raw", truncated),
            ("/raw", bag.image(Stamp(3, 0), FRAME_ID, good)),
            ("/jpeg", bag.compressed_image(Stamp(1, 0), FRAME_ID, b"\xff\xd8garbage", "jpeg")),
            ("/jpeg", bag.compressed_image(Stamp(2, 0), FRAME_ID, encode_compressed(rgb), "jpeg")),
        ]
        return [(topic, i + 1, msg) for i, (topic, msg) in enumerate(frames)]

    write_bag(tmp_path / "mixed.mcap", {"/raw": IMAGE_TYPE, "/jpeg": COMPRESSED_TYPE}, messages)
    with BagReader(tmp_path / "mixed.mcap") as bag:
        raw = evaluate_bag(bag, pipeline, "/raw", out=tmp_path / "raw_out.mcap", progress=False)
        jpeg = evaluate_bag(bag, pipeline, "/jpeg", progress=False)
    assert (raw["frames"], raw["skipped_frames"]) == (2, 1)
    assert "data has" in raw["skipped_reasons"][0]
    assert (jpeg["frames"], jpeg["skipped_frames"]) == (1, 1)
    assert "undecodable compressed image" in jpeg["skipped_reasons"][0]
    assert raw["mean_iou"] is None and raw["label_topic"] is None
    with BagReader(tmp_path / "raw_out.mcap") as out:
        assert {topic: count for topic, (_, count) in out.topics().items()} == dict.fromkeys(
            output_topics().values(), 2
        )


def test_bag_of_only_bad_frames_fails_cleanly(
    tmp_path: Path, pipeline: SegmentationPipeline
) -> None:
    write_bag(
        tmp_path / "bad.mcap",
        {"/jpeg": COMPRESSED_TYPE},
        lambda bag: [("/jpeg", 1, bag.compressed_image(Stamp(1, 0), FRAME_ID, b"xx", "jpeg"))],
    )
    out = tmp_path / "out.mcap"
    with BagReader(tmp_path / "bad.mcap") as bag, pytest.raises(BagError, match="no frame"):
        evaluate_bag(bag, pipeline, "/jpeg", out=out, progress=False)
    assert not out.exists() and leftovers(tmp_path) == []


def test_bag_make_bad_inputs(
    tmp_path: Path, small_sequence: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    images, labels = small_sequence
    out = str(tmp_path / "x.mcap")
    base = ["bag-make", "--out", out, "--rate", "5"]
    assert "not found" in cli_error(capsys, *base, "--images", str(tmp_path / "none"))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no images" in cli_error(capsys, *base, "--images", str(empty))
    partial = tmp_path / "partial_labels"
    partial.mkdir()
    first = sorted(labels.glob("*.png"))[0]
    (partial / first.name).write_bytes(first.read_bytes())
    assert "no label" in cli_error(
        capsys, *base, "--images", str(images), "--labels", str(partial)
    )
    colour = tmp_path / "colour_labels"
    colour.mkdir()
    for path in labels.glob("*.png"):
        cv2.imwrite(
            str(colour / path.name), cv2.cvtColor(cv2.imread(str(path), -1), cv2.COLOR_GRAY2BGR)
        )
    assert "single-channel" in cli_error(
        capsys, *base, "--images", str(images), "--labels", str(colour)
    )
    assert "argument --rate: must be positive" in cli_error(
        capsys, "bag-make", "--out", out, "--rate", "0", "--images", str(images)
    )
    assert "sqlite3 bag, but mcap" in cli_error(
        capsys, "bag-make", "--out", str(tmp_path / "x.db3"), "--rate", "5",
        "--images", str(images), "--storage", "mcap",
    )  # fmt: skip
    assert "ROS 1 bag is one file" in cli_error(
        capsys, "bag-make", "--out", str(tmp_path / "folder"), "--rate", "5",
        "--images", str(images), "--ros1",
    )  # fmt: skip
    assert not Path(out).exists() and leftovers(tmp_path) == []


def test_existing_output_is_kept_unless_overwrite(
    tmp_path: Path, small_sequence: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "bag"
    out.mkdir()
    (out / "precious.txt").write_text("robot data")
    argv = ["bag-make", "--images", str(small_sequence[0]), "--out", str(out), "--rate", "5"]
    assert "exists" in cli_error(capsys, *argv)
    assert (out / "precious.txt").read_text() == "robot data"
    assert cli_main([*argv, "--overwrite", "--limit", "1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["bag.mcap", "metadata.yaml"]
    assert leftovers(tmp_path) == []


def test_bag_record_rejects_non_mcap_output(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "rec.db3"
    assert "sqlite3 bag, but mcap" in cli_error(
        capsys, "bag-record", "--topics", "/x", "--out", str(out)
    )
    assert not out.exists() and leftovers(tmp_path) == []


def test_message_decoding_errors() -> None:
    typestore = ros2_typestore()
    image = typestore.types[IMAGE_TYPE]
    with pytest.raises(UnsupportedImageError, match="unsupported message type"):
        message_to_rgb(object(), "std_msgs/msg/String")
    with pytest.raises(UnsupportedImageError, match="unsupported label message type"):
        message_to_label(object(), COMPRESSED_TYPE)
    header = typestore.types["std_msgs/msg/Header"](
        stamp=typestore.types["builtin_interfaces/msg/Time"](sec=1, nanosec=2), frame_id="c"
    )
    label = image(header, 2, 3, "8UC1", 0, 3, np.arange(6, dtype=np.uint8))
    np.testing.assert_array_equal(message_to_label(label, IMAGE_TYPE), np.arange(6).reshape(2, 3))
    assert Stamp.of(label) == Stamp(1, 2) and str(Stamp(1, 2)) == "1.000000002"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "--limit", "0"], "argument --limit: must be a positive integer, got 0"),
        (["eval", "--threads", "-1"], "argument --threads: must be 0"),
        (["bag-eval", "--bag", "b", "--image-topic", "t", "--overlay-alpha", "nan"], "finite"),
        (["plot-log", "--log", "README.md", "--out", "x.png"], "is not a training log"),
        (["train", "--config", "README.md"], "README.md is not valid YAML: could not find"),
        (["fewshot-eval", "--protocol", "setup.cfg"], "setup.cfg is not valid YAML"),
    ],
)
def test_cli_mistakes_are_one_line(argv, message, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0], err
