"""Image message fields <-> NumPy: raw round trips, RGB conversion, compressed, errors."""

from __future__ import annotations

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from seg_perception.image_codec import (
    SUPPORTED_INPUT_ENCODINGS,
    ImageDecodeError,
    RawImage,
    compressed_msg_to_rgb,
    decode_compressed,
    decode_raw,
    encode_compressed,
    encode_raw,
    image_msg_to_array,
    image_msg_to_rgb,
    to_rgb,
)
from seg_perception.nodes.ros_image import array_to_image_msg

HEIGHT, WIDTH = 5, 7

# encoding: (channels, dtype)
LAYOUTS = {
    "rgb8": (3, np.uint8),
    "bgr8": (3, np.uint8),
    "rgba8": (4, np.uint8),
    "bgra8": (4, np.uint8),
    "mono8": (1, np.uint8),
    "mono16": (1, np.uint16),
    "32FC1": (1, np.float32),
}


def make_pixels(encoding: str, seed: int = 0) -> np.ndarray:
    """Random pixels of ``encoding``: (H, W) for one channel, else (H, W, C)."""
    channels, dtype = LAYOUTS[encoding]
    shape = (HEIGHT, WIDTH) if channels == 1 else (HEIGHT, WIDTH, channels)
    rng = np.random.default_rng(seed)
    if dtype is np.float32:
        return rng.normal(size=shape).astype(np.float32)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True, dtype=dtype)


def padded(raw: RawImage, extra: int) -> RawImage:
    """The same image with ``extra`` junk bytes at the end of every row."""
    rows = np.frombuffer(raw.data, dtype=np.uint8).reshape(raw.height, raw.step)
    junk = np.full((raw.height, extra), 0xAB, dtype=np.uint8)
    data = np.concatenate([rows, junk], axis=1).tobytes()
    return RawImage(raw.height, raw.width, raw.encoding, raw.step + extra, data)


@pytest.mark.parametrize("encoding", list(LAYOUTS))
def test_raw_round_trip(encoding: str) -> None:
    pixels = make_pixels(encoding)
    raw = encode_raw(pixels, encoding)
    itemsize = np.dtype(LAYOUTS[encoding][1]).itemsize
    assert (raw.height, raw.width, raw.encoding) == (HEIGHT, WIDTH, encoding)
    assert raw.step == WIDTH * LAYOUTS[encoding][0] * itemsize
    assert not raw.is_bigendian
    decoded = decode_raw(raw)
    assert decoded.dtype == pixels.dtype
    np.testing.assert_array_equal(decoded, pixels)


@pytest.mark.parametrize("encoding", list(LAYOUTS))
def test_padded_rows_are_skipped(encoding: str) -> None:
    pixels = make_pixels(encoding)
    # 4 junk bytes keep the step a multiple of every item size
    decoded = decode_raw(padded(encode_raw(pixels, encoding), 4))
    np.testing.assert_array_equal(decoded, pixels)


def test_big_endian_mono16() -> None:
    pixels = np.array([[0x0102, 0xABCD, 0xFF00]], dtype=np.uint16)
    data = pixels.astype(">u2").tobytes()
    assert data[:2] == b"\x01\x02"
    decoded = decode_raw(RawImage(1, 3, "mono16", 6, data, is_bigendian=True))
    assert decoded.dtype == np.uint16
    assert decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, pixels)


def test_big_endian_mono16_with_padding() -> None:
    pixels = make_pixels("mono16")
    raw = padded(RawImage(HEIGHT, WIDTH, "mono16", 2 * WIDTH, pixels.astype(">u2").tobytes()), 2)
    big_endian = RawImage(raw.height, raw.width, raw.encoding, raw.step, raw.data, True)
    np.testing.assert_array_equal(decode_raw(big_endian), pixels)


def test_to_rgb_rgb8_is_unchanged() -> None:
    pixels = make_pixels("rgb8")
    rgb = to_rgb(pixels, "rgb8")
    np.testing.assert_array_equal(rgb, pixels)


def test_to_rgb_bgr8_swaps_channels() -> None:
    bgr = np.array([[[10, 20, 30]]], dtype=np.uint8)
    np.testing.assert_array_equal(to_rgb(bgr, "bgr8"), [[[30, 20, 10]]])


def test_to_rgb_rgba8_drops_alpha() -> None:
    rgba = np.array([[[10, 20, 30, 40]]], dtype=np.uint8)
    np.testing.assert_array_equal(to_rgb(rgba, "rgba8"), [[[10, 20, 30]]])


def test_to_rgb_bgra8_swaps_and_drops_alpha() -> None:
    bgra = np.array([[[10, 20, 30, 40]]], dtype=np.uint8)
    np.testing.assert_array_equal(to_rgb(bgra, "bgra8"), [[[30, 20, 10]]])


def test_to_rgb_mono8_is_replicated() -> None:
    mono = np.array([[0, 7, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(to_rgb(mono, "mono8"), np.repeat(mono[..., None], 3, axis=2))


def test_to_rgb_mono16_keeps_high_byte() -> None:
    mono = np.array([[0x0000, 0x12FF, 0xFF01]], dtype=np.uint16)
    expected = np.array([[[0x00] * 3, [0x12] * 3, [0xFF] * 3]], dtype=np.uint8)
    np.testing.assert_array_equal(to_rgb(mono, "mono16"), expected)


@pytest.mark.parametrize("encoding", SUPPORTED_INPUT_ENCODINGS)
def test_to_rgb_of_every_input_encoding(encoding: str) -> None:
    pixels = make_pixels(encoding)
    rgb = to_rgb(decode_raw(padded(encode_raw(pixels, encoding), 4)), encoding)
    assert rgb.shape == (HEIGHT, WIDTH, 3)
    assert rgb.dtype == np.uint8
    assert rgb.flags.c_contiguous
    if encoding in ("rgb8", "rgba8"):
        expected = pixels[..., :3]
    elif encoding in ("bgr8", "bgra8"):
        expected = pixels[..., 2::-1]
    elif encoding == "mono8":
        expected = np.repeat(pixels[..., None], 3, axis=2)
    else:
        expected = np.repeat((pixels >> 8).astype(np.uint8)[..., None], 3, axis=2)
    np.testing.assert_array_equal(rgb, expected)


def test_to_rgb_rejects_float_depth() -> None:
    with pytest.raises(ImageDecodeError, match="32FC1"):
        to_rgb(make_pixels("32FC1"), "32FC1")


def smooth_rgb(height: int = 48, width: int = 64) -> np.ndarray:
    """A gradient image (JPEG reproduces it closely)."""
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    return np.stack([rows + 0 * cols, 0 * rows + cols, (rows + cols) / 2], axis=2).astype(np.uint8)


def test_png_round_trip_is_exact() -> None:
    rgb = make_pixels("rgb8")
    data = encode_compressed(rgb, "png")
    assert data[:4] == b"\x89PNG"
    np.testing.assert_array_equal(decode_compressed(data, "png"), rgb)


def test_jpeg_round_trip_is_close() -> None:
    rgb = smooth_rgb()
    data = encode_compressed(rgb, "jpeg", quality=95)
    assert data[:2] == b"\xff\xd8"
    decoded = decode_compressed(data, "jpeg")
    assert decoded.shape == rgb.shape
    assert decoded.dtype == np.uint8
    # channel order survives: a swap would put the mean error near 60
    assert np.abs(decoded.astype(int) - rgb.astype(int)).mean() < 3.0


def test_jpeg_without_chroma_subsampling_keeps_thin_colour() -> None:
    rgb = np.zeros((48, 64, 3), dtype=np.uint8)
    rgb[:, ::2, 0] = 255  # one-pixel red stripes: 4:2:0 halves their colour resolution
    errors = {
        subsample: np.abs(
            decode_compressed(encode_compressed(rgb, "jpeg", 95, subsample), "jpeg").astype(int)
            - rgb
        ).mean()
        for subsample in (True, False)
    }
    assert errors[False] < errors[True] / 4, errors


def test_encode_compressed_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="bmp"):
        encode_compressed(smooth_rgb(), "bmp")


def test_encode_raw_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="yuv422"):
        encode_raw(make_pixels("rgb8"), "yuv422")
    with pytest.raises(ValueError, match="uint16"):
        encode_raw(make_pixels("rgb8"), "mono16")
    with pytest.raises(ValueError, match="channel"):
        encode_raw(make_pixels("rgba8"), "rgb8")


def assert_one_line(error: pytest.ExceptionInfo[ImageDecodeError]) -> None:
    message = str(error.value)
    assert message
    assert "\n" not in message


def test_unknown_encoding() -> None:
    raw = RawImage(2, 2, "yuv422", 4, bytes(8))
    with pytest.raises(ImageDecodeError, match="unsupported encoding 'yuv422'") as error:
        decode_raw(raw)
    assert "rgb8" in str(error.value)  # lists the accepted encodings
    assert_one_line(error)


def test_encoding_outside_the_allowed_subset() -> None:
    raw = encode_raw(make_pixels("32FC1"), "32FC1")
    with pytest.raises(ImageDecodeError, match="unsupported encoding '32FC1'"):
        decode_raw(raw, SUPPORTED_INPUT_ENCODINGS)


@pytest.mark.parametrize(("height", "width"), [(0, 4), (4, 0), (-1, 4)])
def test_zero_size(height: int, width: int) -> None:
    with pytest.raises(ImageDecodeError, match="empty image") as error:
        decode_raw(RawImage(height, width, "rgb8", 3 * max(width, 0), b""))
    assert_one_line(error)


def test_step_too_small() -> None:
    raw = RawImage(2, 4, "rgb8", 11, bytes(22))
    with pytest.raises(ImageDecodeError, match=r"step 11 is smaller than .*\(12 bytes\)") as error:
        decode_raw(raw)
    assert_one_line(error)


def test_step_not_a_multiple_of_the_item_size() -> None:
    raw = RawImage(2, 2, "mono16", 5, bytes(10))
    with pytest.raises(ImageDecodeError, match="multiple of 2 bytes"):
        decode_raw(raw)


@pytest.mark.parametrize("length", [12 * 3 - 1, 12 * 3 + 1, 0])
def test_data_length_mismatch(length: int) -> None:
    raw = RawImage(3, 4, "rgb8", 12, bytes(length))
    with pytest.raises(
        ImageDecodeError, match=f"data has {length} bytes, expected step\\*height = 36"
    ) as error:
        decode_raw(raw)
    assert_one_line(error)


def test_empty_compressed() -> None:
    with pytest.raises(ImageDecodeError, match="empty compressed image") as error:
        decode_compressed(b"", "jpeg")
    assert "jpeg" in str(error.value)
    assert_one_line(error)


def test_undecodable_compressed() -> None:
    with pytest.raises(ImageDecodeError, match=r"undecodable .*12 bytes") as error:
        decode_compressed(b"not an image", "png")
    assert_one_line(error)


def test_truncated_jpeg_is_undecodable() -> None:
    data = encode_compressed(smooth_rgb(), "jpeg")
    with pytest.raises(ImageDecodeError, match="undecodable"):
        decode_compressed(data[:20], "jpeg")


class TestSensorMsgs:
    """The same conversions through real ``sensor_msgs`` messages (no rclpy.init)."""

    @staticmethod
    def header() -> Header:
        return Header(stamp=Time(sec=1712345678, nanosec=123456789), frame_id="camera_optical")

    @pytest.mark.parametrize("encoding", list(LAYOUTS))
    def test_array_round_trip(self, encoding: str) -> None:
        pixels = make_pixels(encoding)
        msg = array_to_image_msg(pixels, encoding, self.header())
        assert (msg.height, msg.width, msg.encoding) == (HEIGHT, WIDTH, encoding)
        assert msg.is_bigendian == 0
        assert len(msg.data) == msg.step * msg.height
        assert msg.header.stamp.sec == 1712345678
        assert msg.header.stamp.nanosec == 123456789
        assert msg.header.frame_id == "camera_optical"
        decoded = image_msg_to_array(msg)
        assert decoded.dtype == pixels.dtype
        np.testing.assert_array_equal(decoded, pixels)

    @pytest.mark.parametrize("encoding", SUPPORTED_INPUT_ENCODINGS)
    def test_rgb_matches_codec(self, encoding: str) -> None:
        pixels = make_pixels(encoding)
        rgb = image_msg_to_rgb(array_to_image_msg(pixels, encoding, self.header()))
        np.testing.assert_array_equal(rgb, to_rgb(pixels, encoding))

    def test_bgr8_message_to_rgb(self) -> None:
        bgr = np.zeros((2, 3, 3), dtype=np.uint8)
        bgr[..., 0] = 200  # blue
        rgb = image_msg_to_rgb(array_to_image_msg(bgr, "bgr8", self.header()))
        assert (rgb[..., 2] == 200).all()
        assert (rgb[..., :2] == 0).all()

    def test_padded_big_endian_message(self) -> None:
        pixels = make_pixels("mono16")
        raw = padded(
            RawImage(HEIGHT, WIDTH, "mono16", 2 * WIDTH, pixels.astype(">u2").tobytes()), 6
        )
        msg = Image(
            header=self.header(),
            height=raw.height,
            width=raw.width,
            encoding="mono16",
            is_bigendian=1,
            step=raw.step,
            data=raw.data,
        )
        np.testing.assert_array_equal(image_msg_to_array(msg), pixels)
        np.testing.assert_array_equal(image_msg_to_rgb(msg), to_rgb(pixels, "mono16"))

    def test_float_message_is_not_rgb(self) -> None:
        msg = array_to_image_msg(make_pixels("32FC1"), "32FC1", self.header())
        with pytest.raises(ImageDecodeError, match="unsupported encoding '32FC1'"):
            image_msg_to_rgb(msg)

    def test_truncated_message(self) -> None:
        msg = array_to_image_msg(make_pixels("rgb8"), "rgb8", self.header())
        msg.data = bytes(msg.data)[:-1]
        with pytest.raises(ImageDecodeError, match="data has"):
            image_msg_to_rgb(msg)

    @pytest.mark.parametrize("image_format", ["png", "jpeg"])
    def test_compressed_message(self, image_format: str) -> None:
        rgb = smooth_rgb()
        msg = CompressedImage(
            header=self.header(), format=image_format, data=encode_compressed(rgb, image_format)
        )
        decoded = compressed_msg_to_rgb(msg)
        if image_format == "png":
            np.testing.assert_array_equal(decoded, rgb)
        else:
            assert np.abs(decoded.astype(int) - rgb.astype(int)).mean() < 3.0

    def test_empty_compressed_message(self) -> None:
        with pytest.raises(ImageDecodeError, match="empty compressed image"):
            compressed_msg_to_rgb(CompressedImage(format="jpeg"))


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny 1-bit PNG whose header declares ``width`` x ``height`` (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + (width + 7) // 8) * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def test_compressed_bomb_is_refused_before_decoding() -> None:
    import time

    from seg_perception.image_codec import decode_compressed

    bomb = _png_declaring(12000, 12000)
    started = time.perf_counter()
    with pytest.raises(ImageDecodeError, match=r"12000x12000 = 144000000 pixels exceeds"):
        decode_compressed(bomb, "png")
    assert time.perf_counter() - started < 1.0  # nothing was decoded
    with pytest.raises(ImageDecodeError, match="exceeds the pixel budget of 100"):
        decode_compressed(_png_declaring(20, 20), "png", max_pixels=100)


def test_raw_frame_over_the_budget_is_refused_from_its_fields() -> None:
    from seg_perception.image_codec import RawImage, decode_raw

    huge = RawImage(height=5000, width=5000, encoding="mono8", step=5000, data=b"")
    with pytest.raises(ImageDecodeError, match="5000x5000 = 25000000 pixels exceeds"):
        decode_raw(huge)


def test_corrupt_and_truncated_images_are_rejected_silently(capfd) -> None:
    from seg_perception.image_codec import decode_compressed, encode_compressed

    rgb = np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    jpeg = bytearray(encode_compressed(rgb, "jpeg"))
    jpeg[len(jpeg) // 2 : len(jpeg) // 2 + 40] = b"\xff" * 40  # corrupt scan data
    png = encode_compressed(rgb, "png")
    for data, kind in (
        (bytes(jpeg), "jpeg"),
        (png[: len(png) // 2], "png"),
        (b"GIF89a" + bytes(20), "gif"),
    ):
        with pytest.raises(ImageDecodeError):
            decode_compressed(data, kind)
    captured = capfd.readouterr()  # the native decoders wrote nothing to stdout/stderr
    assert captured.err == "" and captured.out == ""


def test_dataset_readers_refuse_truncated_and_oversized_files(tmp_path) -> None:
    from PIL import Image

    from seg_perception.data.camvid import read_label, read_rgb
    from seg_perception.data.davis import read_mask

    whole = tmp_path / "mask.png"
    Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (64, 1))).save(whole)
    assert read_mask(whole).shape == (64, 256) and read_label(whole).shape == (64, 256)
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole.read_bytes()[:-40])  # OpenCV alone reads what is there
    big = tmp_path / "big.png"
    Image.new("L", (5000, 5000)).save(big)  # 25 Mpx: over the 16.8 Mpx budget
    for reader in (read_mask, read_label, read_rgb):
        with pytest.raises(OSError, match=f"{cut}: .*(truncated|undecodable)"):
            reader(cut)
        with pytest.raises(OSError, match="exceeds the pixel budget"):
            reader(big)
