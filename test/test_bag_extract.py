"""``bag-extract``: frames of raw (rgb8, bgr8) and compressed (jpeg, png) topics of every bag
format as files named by header stamp, thinned by ``--every``, pixels as the node decodes
them (exactly, in PNG); undecodable frames counted; bad input a one-line error."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from cli_process import run_cli

from seg_perception.bags.bag_extract import extract_frames, frame_name
from seg_perception.bags.bag_reader import BagReader, read_frames
from seg_perception.bags.bag_writer import BagWriter
from seg_perception.bags.image_messages import COMPRESSED_TYPE, IMAGE_TYPE, Stamp
from seg_perception.cli import main as cli_main
from seg_perception.image_codec import encode_compressed, encode_raw

SIZE = (40, 30)  # width, height
FIRST = Stamp(1_700_000_000, 5_000)  # a nanosecond part that needs its zero padding
STEP_NS = 400_000_000  # frames 0.4 s apart
FRAMES = 7  # 0.0 .. 2.4 s
FRAME_ID = "camera"
LAYOUTS = {"mcap": "in.mcap", "sqlite3": "in_sqlite3", "ros1": "in.bag"}
STRING_TYPE = "std_msgs/msg/String"
TOPICS = {  # topic: (message type, encoding or compressed format)
    "/camera/rgb": (IMAGE_TYPE, "rgb8"),
    "/camera/bgr": (IMAGE_TYPE, "bgr8"),
    "/camera/jpeg": (COMPRESSED_TYPE, "jpeg"),
    "/camera/png": (COMPRESSED_TYPE, "png"),
}
LOSSLESS = ("/camera/rgb", "/camera/bgr", "/camera/png")

Messages = Callable[[BagWriter], Iterable[tuple[str, Stamp, Any]]]


def stamps(count: int = FRAMES) -> list[Stamp]:
    return [Stamp.from_ns(FIRST.ns + i * STEP_NS) for i in range(count)]


def frame(index: int) -> np.ndarray:
    """A smooth (JPEG-friendly) RGB frame, different for each index."""
    y, x = np.mgrid[: SIZE[1], : SIZE[0]]
    channels = (x * 6 + index * 20, y * 8, (x + y) * 3 + index * 7)
    return np.stack(channels, axis=-1).astype(np.uint8)


def image_message(bag: BagWriter, stamp: Stamp, rgb: np.ndarray, encoding: str) -> Any:
    if encoding in ("jpeg", "png"):
        data = encode_compressed(rgb, encoding, 95, subsample_chroma=False)
        return bag.compressed_image(stamp, FRAME_ID, data, encoding)
    pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if encoding == "bgr8" else rgb
    return bag.image(stamp, FRAME_ID, encode_raw(pixels, encoding))


def write_bag(path: Path, topics: dict[str, str], messages: Messages) -> Path:
    """A bag with ``topics`` ({topic: type}) and ``messages(writer)`` -> [(topic, stamp, msg)]."""
    with BagWriter(path) as bag:
        for topic, msgtype in topics.items():
            bag.add_topic(topic, msgtype)
        for topic, stamp, message in messages(bag):
            bag.write(topic, stamp.ns, message)
    return path


def camera_messages(bag: BagWriter):
    for index, stamp in enumerate(stamps()):
        for topic, (_, encoding) in TOPICS.items():
            yield topic, stamp, image_message(bag, stamp, frame(index), encoding)
    yield "/chatter", FIRST, bag.typestore.types[STRING_TYPE](data="hello")


@pytest.fixture(scope="module")
def bags(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{storage: bag} with the four camera topics and a String topic."""
    root = tmp_path_factory.mktemp("bags")
    topics = {topic: msgtype for topic, (msgtype, _) in TOPICS.items()} | {"/chatter": STRING_TYPE}
    return {
        storage: write_bag(root / name, topics, camera_messages)
        for storage, name in LAYOUTS.items()
    }


def read_png_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------- frames


@pytest.mark.parametrize("topic", list(TOPICS))
@pytest.mark.parametrize("storage", list(LAYOUTS))
def test_every_frame_round_trips(
    tmp_path: Path, bags: dict[str, Path], storage: str, topic: str
) -> None:
    out = tmp_path / "frames"
    with BagReader(bags[storage]) as bag:
        result = extract_frames(bag, out, topic, every=0, progress=False)
        decoded = read_frames(bag, topic)  # what the node sees
    assert (result.read, result.written, result.thinned, result.undecodable) == (7, 7, 0, 0)
    names = [frame_name(stamp) for stamp in stamps()]
    assert names[0] == "1700000000_000005000.png"
    assert listing(out) == names  # no temporaries left, names in time order
    for index, (name, (_, rgb, _)) in enumerate(zip(names, decoded, strict=True)):
        written = read_png_rgb(out / name)
        np.testing.assert_array_equal(written, rgb)
        if topic in LOSSLESS:
            np.testing.assert_array_equal(written, frame(index))
        else:
            assert np.abs(written.astype(int) - frame(index)).mean() < 2


@pytest.mark.parametrize(
    ("every", "kept"),
    [("1.0", [0, 3, 6]), ("0.5", [0, 2, 4, 6]), ("0.4", list(range(FRAMES))), ("10", [0])],
)
def test_every_thins_by_header_stamp(
    tmp_path: Path, bags: dict[str, Path], every: str, kept: list[int], capsys
) -> None:
    out = tmp_path / "frames"
    argv = ["bag-extract", str(bags["mcap"]), "--topic", "/camera/png", "--out", str(out)]
    assert cli_main([*argv, "--every", every]) == 0
    expected = [frame_name(stamps()[i]) for i in kept]
    assert listing(out) == expected
    summary = capsys.readouterr().out.strip().splitlines()
    assert summary == [
        f"7 frames of /camera/png read: {len(kept)} written, {FRAMES - len(kept)} skipped by "
        f"--every {float(every):g} s, 0 undecodable; in {out}"
    ]
    # a second run replaces the files of the same name
    assert cli_main([*argv, "--every", every]) == 0
    assert listing(out) == expected


def test_default_every_is_one_second(tmp_path: Path, bags: dict[str, Path]) -> None:
    out = tmp_path / "frames"
    assert (
        cli_main(["bag-extract", str(bags["ros1"]), "--topic", "/camera/bgr", "--out", str(out)])
        == 0
    )
    assert listing(out) == [frame_name(stamps()[i]) for i in (0, 3, 6)]


def test_jpg_format(tmp_path: Path, bags: dict[str, Path]) -> None:
    out = tmp_path / "frames"
    argv = ["bag-extract", str(bags["sqlite3"]), "--topic", "/camera/rgb", "--out", str(out)]
    assert cli_main([*argv, "--every", "0", "--format", "jpg"]) == 0
    assert listing(out) == [frame_name(stamp, "jpg") for stamp in stamps()]
    for index, stamp in enumerate(stamps()):
        written = read_png_rgb(out / frame_name(stamp, "jpg"))
        assert np.abs(written.astype(int) - frame(index)).mean() < 2


def test_the_only_image_topic_is_the_default(tmp_path: Path, bags: dict[str, Path]) -> None:
    def messages(bag: BagWriter):
        yield "/chatter", FIRST, bag.typestore.types[STRING_TYPE](data="hello")
        yield "/camera/rgb", FIRST, image_message(bag, FIRST, frame(0), "rgb8")

    bag_path = write_bag(
        tmp_path / "one.mcap", {"/chatter": STRING_TYPE, "/camera/rgb": IMAGE_TYPE}, messages
    )
    out = tmp_path / "frames"
    assert cli_main(["bag-extract", str(bag_path), "--out", str(out)]) == 0
    assert listing(out) == [frame_name(FIRST)]


def test_undecodable_and_duplicate_frames_are_counted(tmp_path: Path, capsys) -> None:
    def messages(bag: BagWriter):
        first, second, third = stamps(3)
        truncated = image_message(bag, second, frame(1), "rgb8")
        truncated.data = truncated.data[:-7]
        yield "/raw", first, image_message(bag, first, frame(0), "rgb8")
        yield "/raw", second, truncated
        yield "/raw", third, image_message(bag, third, frame(2), "rgb8")
        yield "/raw", third, image_message(bag, third, frame(3), "rgb8")  # the same stamp

    bag_path = write_bag(tmp_path / "bad.mcap", {"/raw": IMAGE_TYPE}, messages)
    out = tmp_path / "frames"
    assert cli_main(["bag-extract", str(bag_path), "--out", str(out), "--every", "0"]) == 0
    first, _, third = stamps(3)
    assert listing(out) == [frame_name(first), frame_name(third)]
    np.testing.assert_array_equal(read_png_rgb(out / frame_name(third)), frame(2))
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == (
        "4 frames of /raw read: 2 written, 0 skipped by --every 0 s, 1 undecodable, "
        f"1 duplicate stamps; in {out}"
    )
    assert len(lines) == 2 and lines[1].startswith("  undecodable: ") and "data has" in lines[1]


# ---------------------------------------------------------------- bad input


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if "error:" in line]  # not tqdm's
    assert len(lines) == 1 and lines[0].startswith("seg-perception bag-extract: error: "), lines
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


@pytest.mark.parametrize(
    ("bag", "topic", "message"),
    [
        ("missing.mcap", "/camera/rgb", "not found"),
        ("mcap", "/camera/nope", "topic /camera/nope not in bag"),
        ("mcap", "/chatter", "topic /chatter holds std_msgs/msg/String, unsupported here"),
        ("mcap", None, "has image topics ['/camera/bgr', '/camera/jpeg', '/camera/png', "),
    ],
)
def test_bad_bag_or_topic_is_one_line(
    tmp_path: Path, bags: dict[str, Path], bag: str, topic: str | None, message: str
) -> None:
    bag_path = bags.get(bag, tmp_path / bag)
    out = tmp_path / "frames"
    result = run_cli(
        "bag-extract", str(bag_path), "--out", str(out), *(["--topic", topic] if topic else [])
    )
    assert_one_line_error(result, message)
    if topic is None:
        assert result.stderr.strip().endswith("choose one with --topic")
    assert not out.exists()


def test_no_decodable_frame_is_one_line(tmp_path: Path) -> None:
    bag_path = write_bag(
        tmp_path / "garbage.mcap",
        {"/jpeg": COMPRESSED_TYPE},
        lambda bag: [("/jpeg", FIRST, bag.compressed_image(FIRST, FRAME_ID, b"xx", "jpeg"))],
    )
    out = tmp_path / "frames"
    result = run_cli("bag-extract", str(bag_path), "--out", str(out))
    assert_one_line_error(result, "no frame of /jpeg could be extracted (1 read, 1 undecodable")
    assert not out.exists()


def test_bad_arguments_are_one_line(tmp_path: Path, bags: dict[str, Path], capsys) -> None:
    (tmp_path / "file").write_text("not a folder")
    for argv, message in [
        (["--out", str(tmp_path / "file")], "is not a folder"),
        (["--out", str(tmp_path / "x"), "--every", "-1"], "argument --every: must be 0 or more"),
        (["--out", str(tmp_path / "x"), "--format", "bmp"], "argument --format: invalid choice"),
    ]:
        assert cli_main(["bag-extract", str(bags["mcap"]), "--topic", "/camera/rgb", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "x").exists()
