"""Serving the screens: Flask-SocketIO in threading mode on Werkzeug's threaded server.

Why this server:

- The load is one kiosk and a few staff tablets per store: a handful of
  WebSocket connections and some page loads. A thread per connection is cheap
  at that scale and needs no other server package on the box.
- No monkeypatching. eventlet and gevent would patch sockets and threads in a
  process that also runs an asyncio loop (bleak, the core) and paho's network
  thread; threading mode leaves both alone.
- Werkzeug is what Flask-SocketIO's threading mode runs on, and simple-websocket
  speaks WebSocket over Werkzeug's socket. Flask-SocketIO's ``run()`` refuses it
  without ``allow_unsafe_werkzeug=True``: that flag warns about production
  *scale*, not about correctness. We call ``werkzeug.serving.make_server``
  ourselves instead, which also gives us a clean ``shutdown()`` (``run()`` would
  block the calling thread and cannot be stopped from outside).

Stopping closes every Socket.IO connection first (each holds a request thread),
stops Engine.IO's ping task and the listening server, then cuts the HTTP/1.1
keep-alive connections still open; it returns within 2 s with no request
thread left.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Final

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from storeedge.core.settings import Settings
from storeedge.gateway import CoreGateway
from storeedge.web.context import HealthSections, context_of
from storeedge.web.factory import WebConfig, create_app
from storeedge.web.sink import SocketUi

_LOGGER = logging.getLogger(__name__)

STOP_BUDGET_S: Final = 1.8
_WILDCARDS: Final = ("", "0.0.0.0", "::")  # noqa: S104  # NB: names to map to loopback, not binds


class _Connections:
    """The client connections being served, each on its own request thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    def add(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.add(conn)

    def discard(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.discard(conn)

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)

    def cut_all(self) -> None:
        """Shut every connection down: a thread waiting on a keep-alive read wakes and ends."""
        with self._lock:
            remaining = list(self._open)
        for conn in remaining:
            with contextlib.suppress(OSError):  # NB: already closed by the peer
                conn.shutdown(socket.SHUT_RDWR)


def _handler_for(connections: _Connections) -> type[WSGIRequestHandler]:
    class RequestHandler(WSGIRequestHandler):
        """Werkzeug's handler, tracked, quiet, and closing after a WebSocket."""

        def handle(self) -> None:
            connections.add(self.connection)
            try:
                super().handle()
            finally:
                connections.discard(self.connection)

        def handle_one_request(self) -> None:
            super().handle_one_request()
            headers = getattr(self, "headers", None)
            if headers is not None and headers.get("Upgrade", "").lower() == "websocket":
                # NB: the socket spoke WebSocket; without this Werkzeug would wait for a
                # next HTTP request on it and the browser would see the close 2 s late.
                self.close_connection = True

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            _LOGGER.debug("%s %s -> %s (%s bytes)", self.command, self.path, code, size)

    return RequestHandler


class WebApp:
    """The kiosk and staff screens, served from a background thread."""

    def __init__(
        self,
        settings: Settings,
        core: CoreGateway,
        config: type[WebConfig] = WebConfig,
    ) -> None:
        self.settings = settings
        self.app, self.socketio = create_app(settings, core, config)
        self.ui: SocketUi = context_of(self.app).ui
        self.health: HealthSections = context_of(self.app).health
        self._connections = _Connections()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the web server is not started")
        return int(self._server.server_port)

    def start(self) -> None:
        if self._server is not None:
            return
        web = self.settings.web
        self._server = make_server(
            web.host,
            web.port,
            self.app,
            threaded=True,
            request_handler=_handler_for(self._connections),
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="storeedge-web",
            daemon=True,
        )
        self._thread.start()
        _LOGGER.info("screens served on %s", self.base_url())

    def base_url(self) -> str:
        host = self.settings.web.host
        if host in _WILDCARDS:
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def kiosk_url(self, kiosk_id: str | None = None) -> str:
        if kiosk_id is None:
            return f"{self.base_url()}/"
        return f"{self.base_url()}/kiosk/{kiosk_id}"

    def staff_url(self) -> str:
        return f"{self.base_url()}/staff"

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        deadline = time.monotonic() + STOP_BUDGET_S
        self._close_clients()
        server.shutdown()  # NB: serve_forever closes the listening socket on its way out
        thread.join(max(0.0, deadline - time.monotonic()))
        # Connections get a moment to finish their own close handshakes, then are cut.
        self._drain(deadline - 1.0)
        self._connections.cut_all()
        self._drain(deadline)
        if thread.is_alive() or len(self._connections):
            _LOGGER.warning("web server stop: %s connection(s) still open", len(self._connections))
        self._server = self._thread = None

    def _drain(self, until: float) -> None:
        while len(self._connections) and time.monotonic() < until:
            time.sleep(0.02)

    def _close_clients(self) -> None:
        eio = self.socketio.server.eio
        for client in list(eio.sockets.values()):
            try:
                client.close(wait=False, abort=False)
            except Exception:  # NB: a half-dead connection must not block the stop
                _LOGGER.debug("closing a screen connection failed", exc_info=True)
        if eio.service_task_handle is not None:  # NB: engineio's shutdown is not idempotent
            self.socketio.server.shutdown()
            eio.start_service_task = True  # a later start() monitors its clients again
