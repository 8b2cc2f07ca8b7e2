"""A real headless Chromium (Debian's ``chromium``) driven over the DevTools protocol:
open a page, evaluate JavaScript in it, take a screenshot."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import ClientSession

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def browser_executable() -> str | None:
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HeadlessBrowser:
    """``with HeadlessBrowser(profile_dir) as browser: await browser.open(url)``."""

    def __init__(self, profile_dir: Path, width: int = 1100, height: int = 700):
        self.port = free_port()
        executable = browser_executable()
        if executable is None:
            raise FileNotFoundError("no chromium: apt-get install chromium")
        self.command = [
            executable,
            "--headless=new",
            "--no-sandbox",  # runs as root in CI containers
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--window-size={width},{height}",
            f"--user-data-dir={profile_dir}",
            f"--remote-debugging-port={self.port}",
            "about:blank",
        ]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> HeadlessBrowser:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return self

    def __exit__(self, *exc_info) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def page_socket_url(self, timeout: float = 60.0) -> str:
        """The DevTools WebSocket of the browser's page, once the browser answers."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/json/list", timeout=5
                ) as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise TimeoutError("chromium did not open its DevTools port")
            time.sleep(0.2)


class DevTools:
    """A DevTools protocol session on one page."""

    def __init__(self, ws) -> None:
        self.ws, self._ids = ws, itertools.count(1)

    @classmethod
    async def connect(cls, session: ClientSession, url: str) -> DevTools:
        return cls(await session.ws_connect(url, max_msg_size=0))

    async def call(self, method: str, **params: Any) -> dict:
        number = next(self._ids)
        await self.ws.send_json({"id": number, "method": method, "params": params})
        while True:
            message = json.loads((await asyncio.wait_for(self.ws.receive(), 30.0)).data)
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def screenshot(self, path: Path) -> Path:
        result = await self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(result["data"]))
        return path
