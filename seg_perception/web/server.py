"""The browser view's HTTP server (aiohttp, in its own thread and event loop).

- ``/``: the page (``index.html``: plain HTML and JavaScript, no build step);
- ``/ws``: the picture, one JPEG per message: the page asks for the next one after it
  has drawn the last, so a slow browser gets the newest frame, never a queue; at most
  ``max_fps`` a second;
- ``/state.json``: classes with their colours and share of the frame, diagnostics, and
  the "no frames on <topic> for N s" state;
- ``/snapshot.jpg``: the newest picture (503 before the first).

aiohttp rather than the standard library's ``http.server``: the picture needs a
WebSocket per browser and many slow clients must not hold threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from importlib import resources

from aiohttp import WSMsgType, web

from .live_state import LiveState, Picture

__all__ = ["WebServer"]

PAGE = "index.html"


class _NewFrame:
    """Wakes the server's coroutines when the ROS side stores a frame."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop, self._event = loop, asyncio.Event()

    def notify_threadsafe(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):  # not TimeoutError on Python 3.10
            await asyncio.wait_for(self._event.wait(), timeout)


class WebServer:
    """Serves ``state`` on ``host:port`` (port 0: any free one) from a daemon thread.

    ``start`` raises ``OSError`` with one line when the address cannot be bound.
    """

    def __init__(
        self,
        state: LiveState,
        host: str = "127.0.0.1",
        port: int = 8080,
        max_fps: float = 30.0,
        stale_after_s: float = 2.0,
    ):
        self.state, self.host, self.port = state, host, port
        self.min_interval_s = 1.0 / max_fps
        self.stale_after_s = stale_after_s
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._new_frame = _NewFrame(self._loop)
        self._sockets: set[web.WebSocketResponse] = set()
        self._closing = False
        self.frames_sent = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> None:
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._bind())
            except BaseException as exc:  # handed to the starting thread
                failure.append(exc)
                started.set()
                return
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="web-view", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            exc = failure[0]
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise OSError(f"cannot serve on {self.host}:{self.port}: {reason}") from None
        self.state.on_frame.append(self._new_frame.notify_threadsafe)

    async def _bind(self) -> None:
        app = web.Application()
        app.add_routes(
            [
                web.get("/", self._page),
                web.get("/ws", self._frames),
                web.get("/state.json", self._state),
                web.get("/snapshot.jpg", self._snapshot),
            ]
        )
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        # SO_REUSEADDR (aiohttp's default): a restart right after browsers were connected
        # binds despite their sockets in TIME_WAIT; a port another process listens on is
        # still refused
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        """Close every connection and end the thread (within a few seconds)."""
        if self._thread is None or not self._thread.is_alive():
            return
        if self._new_frame.notify_threadsafe in self.state.on_frame:
            self.state.on_frame.remove(self._new_frame.notify_threadsafe)

        async def shutdown() -> None:
            self._closing = True
            self._new_frame._wake()
            for ws in list(self._sockets):
                await ws.close()
            if self._runner is not None:
                await self._runner.cleanup()

        future = asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        with contextlib.suppress(Exception):
            future.result(timeout=5.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5.0)

    # ------------------------------------------------------------ handlers
    async def _page(self, request: web.Request) -> web.Response:
        text = resources.files(__package__).joinpath(PAGE).read_text(encoding="utf-8")
        return web.Response(text=text, content_type="text/html", headers=_NO_STORE)

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.snapshot(self.stale_after_s), headers=_NO_STORE)

    async def _snapshot(self, request: web.Request) -> web.Response:
        picture = await asyncio.get_running_loop().run_in_executor(None, self.state.picture)
        if picture is None:
            return web.Response(status=503, text=f"no frames yet on {self.state.overlay_topic}\n")
        return web.Response(body=picture.jpeg, content_type="image/jpeg", headers=_NO_STORE)

    async def _frames(self, request: web.Request) -> web.WebSocketResponse:
        """One picture per ``next`` from the page: the newest frame it has not had."""
        ws = web.WebSocketResponse(heartbeat=10.0)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await self._serve_pictures(ws)
        finally:
            self._sockets.discard(ws)
        return ws

    async def _serve_pictures(self, ws: web.WebSocketResponse) -> None:
        """Answer each ``next`` with the newest picture the page has not had. A reader
        task takes the page's messages (so a closing page is noticed at once, even while
        no frame comes); the sender waits for a request, then for a new frame."""
        loop = asyncio.get_running_loop()
        asked = asyncio.Event()

        async def read() -> None:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    break
                asked.set()

        reader = asyncio.create_task(read())
        last_seq, last_sent_at = 0, 0.0
        try:
            while True:
                if not asked.is_set():
                    request = asyncio.ensure_future(asked.wait())
                    await asyncio.wait({request, reader}, return_when=asyncio.FIRST_COMPLETED)
                    request.cancel()
                if reader.done() or self._closing:
                    return
                asked.clear()
                picture = await self._next_picture(reader, last_seq, last_sent_at)
                if picture is None:
                    return
                try:
                    await ws.send_bytes(picture.jpeg)
                except (ConnectionError, RuntimeError):
                    return  # the browser went away mid-frame
                last_seq, last_sent_at = picture.seq, loop.time()
                self.frames_sent += 1
        finally:
            reader.cancel()

    async def _next_picture(
        self, reader: asyncio.Task, last_seq: int, last_sent_at: float
    ) -> Picture | None:
        """The newest picture after ``last_seq``, no sooner than ``max_fps`` allows; None
        when the page or the server closes first."""
        loop = asyncio.get_running_loop()
        while not reader.done() and not self._closing:
            if self.state.seq <= last_seq:
                await self._new_frame.wait(timeout=1.0)
                continue
            wait = last_sent_at + self.min_interval_s - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            picture = await loop.run_in_executor(None, self.state.picture)
            if picture is not None:
                return picture
            last_seq = self.state.seq  # not encodable: wait for the next frame
        return None


_NO_STORE = {"Cache-Control": "no-store"}
