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

On the store network (docs/operations.md, "Network security"):

- a connection cap (see :mod:`storeedge.web.connections` from one address): beyond
  it a connection gets ``503`` at once and is closed, with a log line;
- a connection must send its request head within ``HEAD_TIMEOUT_S`` (``PRESSED_HEAD_S``
  once the server is three quarters full), and a keep-alive connection idles no longer;
  a socket read or write then stalls at most ``IO_TIMEOUT_S``;
- TLS handshakes run on the connection's thread, under the same deadline, never on
  the accepting one;
- malformed request lines get Werkzeug's 400 with no traceback; ``Server:`` says
  ``storeedge`` and nothing more; :mod:`storeedge.web.netguard` checks Host names,
  forwarded headers and WebSocket handshakes.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import ssl
import threading
import time
from typing import Any, Final

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from storeedge.core.settings import Settings
from storeedge.gateway import CoreGateway
from storeedge.web import enrol
from storeedge.web.connections import (
    CAP_LOG_S,
    FD_RESERVE,
    MAX_CONNECTIONS,
    Conn,
    Connections,
)
from storeedge.web.context import HealthSections, context_of
from storeedge.web.factory import WebConfig, create_app
from storeedge.web.netguard import NetGuard
from storeedge.web.sink import KIOSK_NS, STAFF_NS, SocketUi

_LOGGER = logging.getLogger(__name__)

STOP_BUDGET_S: Final = 1.8
_WILDCARDS: Final = ("", "0.0.0.0", "::")  # noqa: S104  # NB: names to map to loopback, not binds
IO_TIMEOUT_S: Final = 30.0
REAP_S: Final = 0.5
ANONYMOUS_SOCKET_S: Final = 5.0
_BUSY: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 27\r\n"
    b"Retry-After: 5\r\nConnection: close\r\n\r\ntoo many connections, retry"
)


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler: phases for the reaper, quiet logs, no version, closes after a WS."""

    timeout = IO_TIMEOUT_S
    server: _Server

    def handle_one_request(self) -> None:
        conn = self.server.connections.of(self.connection)
        if conn is not None:
            conn.since, conn.waiting = time.monotonic(), True
        super().handle_one_request()
        headers = getattr(self, "headers", None)
        if headers is not None and headers.get("Upgrade", "").lower() == "websocket":
            # NB: the socket spoke WebSocket; without this Werkzeug would wait for a
            # next HTTP request on it and the browser would see the close 2 s late.
            self.close_connection = True

    def parse_request(self) -> bool:
        parsed = bool(super().parse_request())
        conn = self.server.connections.of(self.connection)
        if conn is None:
            return parsed
        conn.waiting = False
        upgrade = parsed and self.headers.get("Upgrade", "").lower() == "websocket"
        if upgrade and not conn.websocket and not self.server.connections.upgrade(conn):
            self.send_error(503, "too many live connections")
            return False
        return parsed

    def version_string(self) -> str:
        return "storeedge"

    def send_response_only(self, code: int, message: str | None = None) -> None:
        # NB: a garbage line of one or two words parses as HTTP/0.9, whose answers have
        # no status line; nobody speaks 0.9, so the 400 goes out as HTTP/1.0 with one.
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        super().send_response_only(code, message)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # NB: path and command are missing when the request line was malformed.
        path = str(getattr(self, "path", "?"))
        if path.startswith("/enrol/"):
            path = "/enrol/..."  # a one-time token stays out of logs
        _LOGGER.debug("%s %s -> %s (%s bytes)", getattr(self, "command", "?"), path, code, size)

    def log_error(self, format: str, *args: Any) -> None:
        # NB: a client's garbage is not this service's error: debug, never a traceback.
        _LOGGER.debug("client error from %s: %s", self.client_address[0], format % args)

    def log_message(self, format: str, *args: Any) -> None:
        _LOGGER.debug("%s", format % args)


class _Server(ThreadedWSGIServer):
    """Accepts, caps and hands each connection to its own thread (TLS handshake there)."""

    def __init__(
        self, host: str, port: int, app: Any, tls: ssl.SSLContext | None, exempt: str | None
    ) -> None:
        super().__init__(host, port, app, _Handler)
        self._server_version = "storeedge"
        self.connections = Connections(exempt)
        # NB: set after construction so the listening socket stays plain: Werkzeug would
        # otherwise run every handshake on the accepting thread, one slow client at a time.
        self.ssl_context = tls
        self._tls = tls
        self._emfile_logged = -CAP_LOG_S
        if self.connections.cap < MAX_CONNECTIONS:
            _LOGGER.warning(
                "the file descriptor limit allows %d connections instead of %d (raise "
                "LimitNOFILE to %d or more)",
                self.connections.cap,
                MAX_CONNECTIONS,
                MAX_CONNECTIONS + FD_RESERVE,
            )

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                now = time.monotonic()
                if now - self._emfile_logged > CAP_LOG_S:
                    _LOGGER.warning("out of file descriptors: not accepting for a moment")
                    self._emfile_logged = now
                time.sleep(0.05)  # NB: the listening socket stays readable: do not spin
            raise

    def process_request(self, request: Any, client_address: Any) -> None:
        conn = self.connections.admit(request, str(client_address[0]))
        if conn is None:
            self._refuse(request)
            return
        thread = threading.Thread(
            target=self._serve, args=(conn, client_address), daemon=True, name="storeedge-http"
        )
        thread.start()

    def _refuse(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.recv(4096)  # NB: what already came, so the close is not a reset
            if self._tls is None:
                sock.send(_BUSY)
        self.shutdown_request(sock)

    def _serve(self, conn: Conn, client_address: Any) -> None:
        try:
            if self._tls is not None:
                conn.sock.settimeout(IO_TIMEOUT_S)
                wrapped = self._tls.wrap_socket(
                    conn.sock, server_side=True, do_handshake_on_connect=False
                )
                self.connections.rekey(conn, wrapped)
                wrapped.do_handshake()
            self.finish_request(conn.sock, client_address)
        except (OSError, ssl.SSLError) as exc:
            _LOGGER.debug("connection from %s ended: %s", client_address[0], exc)
        except Exception:
            _LOGGER.exception("request handler failed")
        finally:
            self.connections.release(conn)
            self.shutdown_request(conn.sock)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    web = settings.web
    if web.tls_cert_file is None or web.tls_key_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(web.tls_cert_file, web.tls_key_file)
    return context


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
        context = context_of(self.app)
        self.ui: SocketUi = context.ui
        self.health: HealthSections = context.health
        self.tls = tls_context(settings)
        self.netguard = NetGuard(
            self.app.wsgi_app, settings.web.allowed_hosts, settings.web.trusted_proxy
        )
        self.app.wsgi_app = self.netguard  # type: ignore[method-assign]  # NB: Flask's documented way to add WSGI middleware
        self.app.config["SESSION_COOKIE_SECURE"] = self.tls is not None
        server = self.socketio.server
        context.guard.sessions.disconnect = lambda sid: server.disconnect(sid, namespace=STAFF_NS)
        self.kiosks = enrol.gate_of(self.app)
        self.kiosks.secure = self.tls is not None
        self.kiosks.disconnect = lambda sid: server.disconnect(sid, namespace=KIOSK_NS)
        self.kiosks.connected = lambda sid: bool(server.manager.is_connected(sid, KIOSK_NS))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._reaper: threading.Thread | None = None
        self._stopping = threading.Event()
        self._first_seen: dict[str, float] = {}

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the web server is not started")
        return int(self._server.server_port)

    @property
    def open_connections(self) -> int:
        return 0 if self._server is None else len(self._server.connections)

    def start(self) -> None:
        if self._server is not None:
            return
        web = self.settings.web
        self._server = _Server(web.host, web.port, self.app, self.tls, web.trusted_proxy)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="storeedge-web",
            daemon=True,
        )
        self._reaper = threading.Thread(target=self._reap, name="storeedge-web-reaper", daemon=True)
        self._thread.start()
        self._reaper.start()
        enrol.publish_service(self.settings.data.dir, self.base_url())
        if self.tls is None and not _loopback(web.host):
            _LOGGER.warning(
                "serving plain HTTP on %s: the PIN and session cookies cross the store "
                "network in clear (set web.tls_cert_file and web.tls_key_file)",
                web.host,
            )
        _LOGGER.info("screens served on %s", self.base_url())

    def _reap(self) -> None:
        ticks = 0
        while not self._stopping.wait(REAP_S):
            server = self._server
            if server is not None:
                server.connections.reap()
            ticks += 1
            if ticks % int(enrol.SWEEP_S / REAP_S) == 0:
                try:
                    self.kiosks.sweep()
                    self._drop_anonymous_sockets()
                except Exception:  # NB: a locked or broken store must not stop the reaper
                    _LOGGER.exception("kiosk credential sweep failed")

    def _drop_anonymous_sockets(self) -> None:
        """Close Engine.IO connections that joined no screen namespace within
        ``ANONYMOUS_SOCKET_S``: a refused or silent client must not keep a WebSocket."""
        server = self.socketio.server
        now = time.monotonic()
        seen = self._first_seen
        for eio_sid in list(server.eio.sockets):
            if any(server.manager.sid_from_eio_sid(eio_sid, ns) for ns in (KIOSK_NS, STAFF_NS)):
                seen.pop(eio_sid, None)
                continue
            since = seen.setdefault(eio_sid, now)
            if now - since > ANONYMOUS_SOCKET_S:
                seen.pop(eio_sid, None)
                _LOGGER.debug("closing a socket that joined no screen")
                server.eio.disconnect(eio_sid)
        for gone in set(seen) - set(server.eio.sockets):
            seen.pop(gone, None)

    def base_url(self) -> str:
        host = self.settings.web.host
        if host in _WILDCARDS:
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    def kiosk_url(self, kiosk_id: str | None = None) -> str:
        if kiosk_id is None:
            return f"{self.base_url()}/"
        return f"{self.base_url()}/kiosk/{kiosk_id}"

    def staff_url(self) -> str:
        return f"{self.base_url()}/staff"

    def enrol_url(self, kiosk_id: str) -> str:
        """A one-time URL that makes the browser opening it ``kiosk_id``'s screen."""
        return f"{self.base_url()}/enrol/{self.kiosks.enrolments.issue(kiosk_id)}"

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        deadline = time.monotonic() + STOP_BUDGET_S
        self._stopping.set()
        enrol.withdraw_service(self.settings.data.dir)
        self._close_clients()
        server.shutdown()  # NB: serve_forever closes the listening socket on its way out
        thread.join(max(0.0, deadline - time.monotonic()))
        # Connections get a moment to finish their own close handshakes, then are cut.
        self._drain(server, deadline - 1.0)
        server.connections.cut_all()
        self._drain(server, deadline)
        if thread.is_alive() or len(server.connections):
            _LOGGER.warning("web server stop: %s connection(s) still open", len(server.connections))
        if self._reaper is not None:
            self._reaper.join(max(0.0, deadline - time.monotonic()))
        self._server = self._thread = self._reaper = None

    def _drain(self, server: _Server, until: float) -> None:
        while len(server.connections) and time.monotonic() < until:
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


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
