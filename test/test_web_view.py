"""The browser view's server without a browser or ROS: page, content types, the state
document, the picture over the WebSocket, the frame-rate cap, the newest frame (never a
backlog) for a slow client, a client leaving mid-stream, and a port in use."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from aiohttp import ClientSession, WSMsgType

from seg_perception.web.live_state import LiveState
from seg_perception.web.server import WebServer

CLASSES = [
    {"id": 0, "name": "Road", "color": [128, 64, 128]},
    {"id": 1, "name": "Car", "color": [64, 0, 128]},
]


BITS = 16  # a frame's index, in black and white 8x8 blocks (two rows of eight)


def frame(index: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A frame whose blocks spell ``index`` in binary (read back from the JPEG)."""
    width, height = size
    pixels = np.full((height, width, 3), 90, np.uint8)
    for bit in range(BITS):
        row, column = divmod(bit, 8)
        value = 255 if index >> bit & 1 else 0
        pixels[8 * row : 8 * row + 8, 8 * column : 8 * column + 8] = value
    return pixels


def index_of(jpeg: bytes) -> int:
    pixels = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    index = 0
    for bit in range(BITS):
        row, column = divmod(bit, 8)
        block = pixels[8 * row + 2 : 8 * row + 6, 8 * column + 2 : 8 * column + 6]
        index |= int(block.mean() > 128) << bit
    return index


@pytest.fixture
def served() -> Iterator[tuple[LiveState, WebServer]]:
    state = LiveState("/cam/segmentation_node/overlay")
    server = WebServer(state, "127.0.0.1", 0, max_fps=20.0, stale_after_s=0.5)
    server.start()
    try:
        yield state, server
    finally:
        server.stop()


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_page_state_and_snapshot(served) -> None:
    state, server = served
    status, kind, body = get(server.url)
    assert status == 200 and kind.startswith("text/html")
    assert b"new WebSocket(" in body and b'id="legend"' in body
    status, _, body = get(server.url + "snapshot.jpg")
    assert status == 503 and b"no frames yet on /cam/segmentation_node/overlay" in body
    assert wait_for(lambda: json.loads(get(server.url + "state.json")[2])["stale"])
    document = json.loads(get(server.url + "state.json")[2])
    assert document["status"].startswith("no frames on /cam/segmentation_node/overlay for ")

    state.set_classes(CLASSES, ["Car"])
    labels = np.zeros((48, 64), np.uint8)
    labels[:12] = 1
    state.set_labels(labels)
    state.set_overlay(frame(3))
    state.set_diagnostics("OK", "", {"fps": "29.90", "latency_total_p90_ms": "21.0"})
    status, kind, body = get(server.url + "state.json")
    assert status == 200 and kind.startswith("application/json")
    document = json.loads(body)
    assert not document["stale"] and document["status"] == "live" and document["frames"] == 1
    assert [(c["name"], c["share"], c["taught"]) for c in document["classes"]] == [
        ("Road", 0.75, False),
        ("Car", 0.25, True),
    ]
    assert document["diagnostics"] == {
        "level": "OK", "message": "", "fps": "29.90", "latency_total_p90_ms": "21.0"
    }  # fmt: skip
    status, kind, body = get(server.url + "snapshot.jpg")
    assert status == 200 and kind == "image/jpeg" and index_of(body) == 3
    assert wait_for(lambda: json.loads(get(server.url + "state.json")[2])["stale"])


@contextlib.contextmanager
def feeding(state: LiveState, period_s: float) -> Iterator[None]:
    """Frames 0, 1, 2, ... stored every ``period_s`` in a thread, as ROS callbacks do."""
    stop = threading.Event()

    def feed() -> None:
        index = 0
        while not stop.is_set():
            state.set_overlay(frame(index))
            index += 1
            time.sleep(period_s)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        yield
    finally:
        stop.set()
        feeder.join()


async def receive_frames(url: str, count: int, pause_s: float = 0.0) -> list[tuple[float, int]]:
    """Ask for ``count`` pictures, pausing ``pause_s`` before each request after the
    first; (arrival time, frame index) of each."""
    received = []
    async with ClientSession() as session, session.ws_connect(url + "ws") as ws:
        for number in range(count):
            if number and pause_s:
                await asyncio.sleep(pause_s)
            await ws.send_str("next")
            message = await asyncio.wait_for(ws.receive(), 10.0)
            assert message.type == WSMsgType.BINARY
            received.append((time.monotonic(), index_of(message.data)))
    return received


def test_pictures_are_capped_at_max_fps_and_never_repeat(served) -> None:
    state, server = served
    with feeding(state, 0.005):
        received = asyncio.run(receive_frames(server.url, 11))
    times = [t for t, _ in received]
    assert times[-1] - times[0] >= 10 / 20.0 - 0.02  # 20 fps at most: 10 gaps of >= 50 ms
    indices = [i for _, i in received]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)


def test_a_slow_client_gets_the_newest_frame_not_a_backlog(served) -> None:
    state, server = served
    with feeding(state, 0.01):
        received = asyncio.run(receive_frames(server.url, 3, pause_s=0.5))
    newest_at_end = state.seq - 1
    steps = [b - a for (_, a), (_, b) in itertools.pairwise(received)]
    assert all(step > 10 for step in steps), received  # frames in between were dropped
    assert newest_at_end - received[-1][1] < 40  # what it got was recent


def test_a_client_leaving_mid_stream_does_not_stop_the_server(served) -> None:
    state, server = served
    state.set_overlay(frame(1))

    async def leave_while_waiting() -> None:
        async with ClientSession() as session, session.ws_connect(server.url + "ws") as ws:
            await ws.send_str("next")
            await ws.receive()
            await ws.send_str("next")  # waits for a frame that never comes; then leaves

    asyncio.run(leave_while_waiting())
    state.set_overlay(frame(2))
    received = asyncio.run(receive_frames(server.url, 1))
    assert received[0][1] == 2


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = WebServer(LiveState("/overlay"), "127.0.0.1", port)
        with pytest.raises(OSError, match=rf"^cannot serve on 127\.0\.0\.1:{port}: ") as caught:
            server.start()
        assert "\n" not in str(caught.value)


def test_stopping_with_a_page_connected_is_prompt() -> None:
    """A connected page waiting for a frame does not hold the server's shutdown (launch
    escalates to SIGTERM after a few seconds)."""
    state = LiveState("/overlay")
    server = WebServer(state, "127.0.0.1", 0)
    server.start()
    connected = threading.Event()

    async def wait_for_a_frame() -> None:
        async with ClientSession() as session, session.ws_connect(server.url + "ws") as ws:
            await ws.send_str("next")
            connected.set()
            await ws.receive()  # closed by the server

    client = threading.Thread(target=lambda: asyncio.run(wait_for_a_frame()), daemon=True)
    client.start()
    assert connected.wait(10)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 4.5  # before: 5 s, then the thread was left running
    client.join(10)
    assert not client.is_alive()


def test_view_on_a_port_in_use_is_a_one_line_error() -> None:
    from cli_process import run_cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("view", "--port", str(port))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"seg-perception view: error: cannot serve on 127.0.0.1:{port}: Address already in use "
        "(choose another --port)"
    ]
