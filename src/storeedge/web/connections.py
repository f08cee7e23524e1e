"""Client connections of the web server: the cap, per address, and the request-head deadline.

Every connection is a thread (Werkzeug's threaded server), so the cap bounds threads,
file descriptors and memory together. A connection is *waiting* from its accept (TLS
handshake included) and again after each response (keep-alive), until its next request
head is read; the reaper cuts one that waits longer than ``HEAD_TIMEOUT_S``, or
``PRESSED_HEAD_S`` once the server is three quarters full. While a request (or a
WebSocket) is being served the connection is not reaped.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Final

_LOGGER = logging.getLogger(__name__)

MAX_CONNECTIONS: Final = 256
MAX_PER_ADDRESS: Final = 32
HEAD_TIMEOUT_S: Final = 10.0
PRESSED_HEAD_S: Final = 2.0
CAP_LOG_S: Final = 10.0


class Conn:
    """One client connection: its socket (TLS once wrapped) and what it is doing."""

    __slots__ = ("address", "since", "sock", "waiting")

    def __init__(self, sock: socket.socket, address: str, now: float) -> None:
        self.sock = sock
        self.address = address
        self.since = now
        self.waiting = True  # for a request head (or a TLS handshake); False while served


class Connections:
    """The client connections being served, each on its own request thread."""

    def __init__(self, exempt: str | None = None) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, Conn] = {}
        self._per_address: dict[str, int] = {}
        self._exempt = exempt  # NB: a trusted proxy carries everyone's connections
        self.refused = 0
        self._refused_logged = 0
        self._last_log = -CAP_LOG_S

    def admit(self, sock: socket.socket, address: str) -> Conn | None:
        now = time.monotonic()
        with self._lock:
            from_there = self._per_address.get(address, 0)
            full = len(self._open) >= MAX_CONNECTIONS
            if full or (from_there >= MAX_PER_ADDRESS and address != self._exempt):
                self.refused += 1
                self._log_refusal(now, address, full)
                return None
            conn = Conn(sock, address, now)
            self._open[id(sock)] = conn
            self._per_address[address] = from_there + 1
            return conn

    def _log_refusal(self, now: float, address: str, full: bool) -> None:
        if now - self._last_log < CAP_LOG_S:
            return
        what = f"{MAX_CONNECTIONS} open" if full else f"{MAX_PER_ADDRESS} from {address}"
        _LOGGER.warning(
            "connection cap reached (%s): answering 503; %d refused since the last report",
            what,
            self.refused - self._refused_logged,
        )
        self._last_log, self._refused_logged = now, self.refused

    def rekey(self, conn: Conn, sock: socket.socket) -> None:
        with self._lock:
            self._open.pop(id(conn.sock), None)
            conn.sock = sock
            self._open[id(sock)] = conn

    def of(self, sock: socket.socket) -> Conn | None:
        with self._lock:
            return self._open.get(id(sock))

    def release(self, conn: Conn) -> None:
        with self._lock:
            if self._open.pop(id(conn.sock), None) is not None:
                left = self._per_address.get(conn.address, 1) - 1
                if left > 0:
                    self._per_address[conn.address] = left
                else:
                    self._per_address.pop(conn.address, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)

    def reap(self) -> int:
        """Cut connections that took too long to send a request head; how many."""
        now = time.monotonic()
        with self._lock:
            pressed = len(self._open) >= MAX_CONNECTIONS * 3 // 4
            limit = PRESSED_HEAD_S if pressed else HEAD_TIMEOUT_S
            late = [c.sock for c in self._open.values() if c.waiting and now - c.since > limit]
        for sock in late:
            cut(sock)
        return len(late)

    def cut_all(self) -> None:
        """Shut every connection down: a thread waiting on a keep-alive read wakes and ends."""
        with self._lock:
            remaining = [c.sock for c in self._open.values()]
        for sock in remaining:
            cut(sock)


def cut(sock: socket.socket) -> None:
    # NB: the plain socket's shutdown, also for a TLS one: SSLSocket.shutdown would drop
    # its TLS state under the thread still reading it.
    with contextlib.suppress(OSError):  # NB: already closed by the peer
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
