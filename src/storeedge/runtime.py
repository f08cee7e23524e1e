"""The core loop: one thread with one asyncio loop owns the pipeline and its state.

Everything that changes domain state runs here. Other threads (paho's network
loop, Flask-SocketIO's request threads) never touch the pipeline directly: they
hand work over with :meth:`CoreLoop.submit` or :meth:`CoreLoop.call`, the one
bridge between the three worlds. bleak, which needs asyncio, runs on this loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


class CoreLoop:
    def __init__(self, name: str = "storeedge-core") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = threading.Event()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def start(self) -> None:
        self._thread.start()
        self._started.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._started.set)
        self._loop.run_forever()
        # Let cancelled tasks finish their cleanup before the loop closes.
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        if pending:
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def in_loop(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run ``fn`` on the core thread soon; the future carries its result or error."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn())
            except Exception as exc:  # noqa: BLE001  # handed to the caller through the future
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future

    def call(self, fn: Callable[[], T], timeout: float = 5.0) -> T:
        """Run ``fn`` on the core thread and wait for its result (from another thread)."""
        if self.in_loop():
            return fn()
        return self.submit(fn).result(timeout)

    def spawn(self, make: Callable[[], Awaitable[T]]) -> concurrent.futures.Future[T]:
        """Start a coroutine on the core loop (device adapters, periodic tasks)."""

        async def wrapper() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop)

    def stop(self, timeout: float = 3.0) -> None:
        if not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if self._thread.is_alive():
            _LOGGER.warning("core loop did not stop within %.1f s", timeout)
