"""The browser view for real: a ``segmentation_node`` process fed camera frames, the
``segmentation_view`` process, and a headless Chromium that loads the page, waits for
pictures to arrive and saves a screenshot. The screenshot's picture must be the node's
overlay (as ``/snapshot.jpg`` serves it) and the legend must list the node's classes. The
view then survives the segmentation node's restart (pictures resume)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
from headless_browser import DevTools, HeadlessBrowser, browser_executable, free_port

from seg_perception.classes import CAMVID
from seg_perception.nodes.ros_graph import NodeProcess
from seg_perception.samples import load_camvid_sample

if TYPE_CHECKING:
    from conftest import RosHarness

pytestmark = [
    pytest.mark.ros,
    pytest.mark.slow,
    pytest.mark.skipif(
        browser_executable() is None, reason="no chromium (apt-get install chromium; CI does)"
    ),
]

NAMESPACE = "webview"


def state_of(url: str) -> dict:
    with urllib.request.urlopen(url + "state.json", timeout=10) as response:
        return json.load(response)


class CameraFeed:
    """Publishes one CamVid frame on /webview/image while the test waits."""

    def __init__(self, ros: RosHarness) -> None:
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import Image
        from std_msgs.msg import Header

        from seg_perception.nodes.ros_image import array_to_image_msg

        self.ros = ros
        self.publisher = ros.node.create_publisher(
            Image, f"/{NAMESPACE}/image", qos_profile_sensor_data
        )
        self.message = array_to_image_msg(
            load_camvid_sample()[0][1], "rgb8", Header(frame_id="cam")
        )

    def until(self, condition, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.publisher.publish(self.message)
            if self.ros.spin_until(condition, 0.1):
                return True
        return condition()

    def close(self) -> None:
        self.ros.node.destroy_publisher(self.publisher)


async def look(url: str, browser: HeadlessBrowser, screenshot: Path, feed: CameraFeed) -> dict:
    """Open the page, wait for 5 pictures, read the legend and take a screenshot."""
    from aiohttp import ClientSession

    async with ClientSession() as session:
        page = await DevTools.connect(session, browser.page_socket_url())
        await page.call("Page.enable")
        await page.call("Page.navigate", url=url)
        shown = 0
        deadline = time.monotonic() + 60
        while shown < 5 and time.monotonic() < deadline:
            feed.until(lambda: False, 0.2)  # keep frames coming while the page draws
            shown = await page.evaluate("window.framesShown || 0")
        legend = await page.evaluate(
            "Array.from(document.querySelectorAll('#legend .class-name')).map(e => e.textContent)"
        )
        box = await page.evaluate(
            "JSON.stringify(document.getElementById('view').getBoundingClientRect())"
        )
        await page.screenshot(screenshot)
        status = await page.evaluate("document.getElementById('status').textContent")
    return {"shown": shown, "legend": legend, "box": json.loads(box), "status": status}


def test_the_page_shows_the_live_overlay_and_the_legend(
    ros: RosHarness, start_node, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    segmentation = start_node("-r", f"__ns:=/{NAMESPACE}")
    view = NodeProcess(
        "segmentation_view",
        ["-r", f"__ns:=/{NAMESPACE}", "-p", f"port:={port}"],
        ros.env,
        log_path=tmp_path / "view.log",
    )
    feed = CameraFeed(ros)
    with view:

        def frames_served() -> bool:
            try:
                return state_of(url)["frames"] > 0
            except OSError:
                return False

        assert feed.until(frames_served, 90.0), view.report("the view got no overlay")
        with HeadlessBrowser(tmp_path / "profile") as browser:
            seen = asyncio.run(look(url, browser, tmp_path / "view.png", feed))
        assert seen["shown"] >= 5, seen
        assert seen["legend"] == list(CAMVID.names), seen
        assert seen["status"] in ("OK", "live", "WARN"), seen

        with urllib.request.urlopen(url + "snapshot.jpg", timeout=10) as response:
            overlay = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
        shot = cv2.imread(str(tmp_path / "view.png"))
        box = seen["box"]
        canvas = shot[
            round(box["top"]) : round(box["top"] + box["height"]),
            round(box["left"]) : round(box["left"] + box["width"]),
        ]
        canvas = cv2.resize(canvas, overlay.shape[1::-1], interpolation=cv2.INTER_AREA)
        difference = np.abs(canvas.astype(np.int16) - overlay.astype(np.int16)).mean()
        assert canvas.std() > 20, "the picture is blank"
        assert difference < 12, (
            f"the screenshot's picture differs from the overlay by {difference:.1f}"
        )

        # the segmentation node restarts: the page says no frames arrive, then resumes
        assert segmentation.stop() == 0
        assert feed.until(lambda: state_of(url)["stale"], 30.0)
        assert state_of(url)["status"].startswith(
            f"no frames on /{NAMESPACE}/segmentation_node/overlay for "
        )
        frames_before = state_of(url)["frames"]
        start_node("-r", f"__ns:=/{NAMESPACE}")
        assert feed.until(lambda: state_of(url)["frames"] > frames_before + 3, 90.0)
        assert not state_of(url)["stale"]
    feed.close()
