"""A worker thread that always processes the newest item (no ROS imports).

Callbacks ``submit`` items without ever blocking; an item replaced before the worker
took it counts as dropped. If the thread ends unexpectedly (an exception escaped the
handler), ``death`` holds the reason so a supervisor can report and restart it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["LatestOnlyWorker"]

T = TypeVar("T")


class LatestOnlyWorker(Generic[T]):
    """Runs ``handle(item)`` on a thread for the newest submitted item.

    Args:
        handle: called on the worker thread, one item at a time.
        name: the thread's name.
    """

    def __init__(self, handle: Callable[[T], None], name: str = "worker"):
        self.handle = handle
        self.name = name
        self.received = 0
        self.dropped = 0
        self.restarts = 0
        self.death: str | None = None
        self.on_death: Callable[[str], None] | None = None  # called on the dying thread
        self._pending: T | None = None
        self._busy = False  # the handler is running
        self._wakeup = threading.Condition()
        self._running = False
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start (or, after a death, restart) the thread."""
        with self._wakeup:
            if self.alive:
                return
            if self.death is not None:
                self.restarts += 1
            self.death = None
            self._running = True
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end after its current item; the pending item is discarded."""
        with self._wakeup:
            self._running = False
            self._pending = None
            self._wakeup.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=timeout)
        self._thread = None

    def submit(self, item: T) -> None:
        """Hand ``item`` to the worker, replacing (and counting as dropped) an untaken one."""
        with self._wakeup:
            self.received += 1
            if self._pending is not None:
                self.dropped += 1
            self._pending = item
            self._wakeup.notify_all()  # the loop, not only a wait_idle caller

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no item is pending or being handled; False after ``timeout`` s."""
        with self._wakeup:
            return self._wakeup.wait_for(
                lambda: (self._pending is None and not self._busy) or not self.alive, timeout
            )

    def _loop(self) -> None:
        try:
            while True:
                with self._wakeup:
                    self._wakeup.wait_for(lambda: self._pending is not None or not self._running)
                    if not self._running:
                        return
                    item, self._pending = self._pending, None
                    self._busy = True
                try:
                    self.handle(item)
                finally:
                    with self._wakeup:
                        self._busy = False
                        self._wakeup.notify_all()
        except BaseException as exc:
            with self._wakeup:
                self.death = f"{exc.__class__.__name__}: {exc}"
                self._running = False
                self._wakeup.notify_all()
