"""Client connections of the web server: the cap, per address, and the request-head deadline.

Every connection is a thread (Werkzeug's threaded server), so the cap bounds threads,
file descriptors and memory together. A connection is *waiting* from its accept (TLS
handshake included) and again after each response (keep-alive), until its next request
head is read; the reaper cuts one that waits longer than ``HEAD_TIMEOUT_S``, or
``PRESSED_HEAD_S`` once the server is three quarters full. While a request (or a
WebSocket) is being served the connection is not reaped.

At the cap, a new connection takes the place of the oldest waiting one (cut at once):
sockets that say nothing cannot keep out a client that asks something. Only when
every connection is busy is the new one refused (503). WebSockets, which hold their
connection for good, have their own smaller caps, in all and per address.
"""

from __future__ import annotations

import contextlib
import logging
import resource
import socket
import threading
import time
from typing import Final

_LOGGER = logging.getLogger(__name__)

MAX_CONNECTIONS: Final = 256
FD_RESERVE: Final = 64  # descriptors kept for SQLite, MQTT, logs, devices
MAX_PER_ADDRESS: Final = 32
MAX_WEBSOCKETS: Final = 64
MAX_WEBSOCKETS_PER_ADDRESS: Final = 4
EVICTING_MAX: Final = 32  # connections cut for newer ones, not yet gone
HEAD_TIMEOUT_S: Final = 10.0
PRESSED_HEAD_S: Final = 2.0
CAP_LOG_S: Final = 10.0


class Conn:
    """One client connection: its socket (TLS once wrapped) and what it is doing."""

    __slots__ = ("address", "evicted", "since", "sock", "waiting", "websocket")

    def __init__(self, sock: socket.socket, address: str, now: float) -> None:
        self.sock = sock
        self.address = address
        self.since = now
        self.waiting = True  # for a request head (or a TLS handshake); False while served
        self.evicted = False
        self.websocket = False


class Connections:
    """The client connections being served, each on its own request thread."""

    def __init__(self, exempt: str | None = None) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, Conn] = {}
        self._per_address: dict[str, int] = {}
        self._exempt = exempt  # NB: a trusted proxy carries everyone's connections
        self.cap = connection_cap()
        self._evicting = 0
        self._websockets: dict[str, int] = {}
        self.refused = 0
        self.evicted = 0
        self._reported = (0, 0)
        self._last_log = -CAP_LOG_S

    def admit(self, sock: socket.socket, address: str) -> Conn | None:
        now = time.monotonic()
        victim: socket.socket | None = None
        with self._lock:
            from_there = self._per_address.get(address, 0)
            if from_there >= MAX_PER_ADDRESS and address != self._exempt:
                self._refuse(now, f"{MAX_PER_ADDRESS} from {address}")
                return None
            if len(self._open) - self._evicting >= self.cap:
                victim = self._evict_oldest_waiting()
                if victim is None:
                    self._refuse(now, f"{self.cap} open, none idle")
                    return None
                self._report(now, f"{self.cap} open")
            conn = Conn(sock, address, now)
            self._open[id(sock)] = conn
            self._per_address[address] = from_there + 1
        if victim is not None:
            cut(victim)
        return conn

    def _evict_oldest_waiting(self) -> socket.socket | None:
        if self._evicting >= EVICTING_MAX:
            return None
        waiting = [c for c in self._open.values() if c.waiting and not c.evicted]
        if not waiting:
            return None
        oldest = min(waiting, key=lambda c: c.since)
        oldest.evicted = True
        self._evicting += 1
        self.evicted += 1
        return oldest.sock

    def _refuse(self, now: float, what: str) -> None:
        self.refused += 1
        self._report(now, what)

    def _report(self, now: float, what: str) -> None:
        if now - self._last_log < CAP_LOG_S:
            return
        refused, evicted = self.refused - self._reported[0], self.evicted - self._reported[1]
        _LOGGER.warning(
            "connection cap reached (%s): since the last report %d refused with 503, "
            "%d idle connection(s) cut for newer ones",
            what,
            refused,
            evicted,
        )
        self._last_log, self._reported = now, (self.refused, self.evicted)

    def upgrade(self, conn: Conn) -> bool:
        """Let this connection become a WebSocket, unless the WebSocket caps are reached."""
        with self._lock:
            total = sum(self._websockets.values())
            here = self._websockets.get(conn.address, 0)
            over_here = here >= MAX_WEBSOCKETS_PER_ADDRESS and conn.address != self._exempt
            if total >= MAX_WEBSOCKETS or over_here:
                self.refused += 1
                self._report(time.monotonic(), f"WebSockets: {total} open, {here} from here")
                return False
            self._websockets[conn.address] = here + 1
            conn.websocket = True
            return True

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
            if self._open.pop(id(conn.sock), None) is None:
                return
            _decrement(self._per_address, conn.address)
            if conn.websocket:
                _decrement(self._websockets, conn.address)
            if conn.evicted:
                self._evicting -= 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)

    def reap(self) -> int:
        """Cut connections that took too long to send a request head; how many."""
        now = time.monotonic()
        with self._lock:
            pressed = len(self._open) >= self.cap * 3 // 4
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


def connection_cap() -> int:
    """``MAX_CONNECTIONS``, or fewer when the process may open fewer descriptors: the cap
    must be reached (and idle connections replaced) before ``accept`` runs out of them."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft - FD_RESERVE))


def _decrement(counts: dict[str, int], key: str) -> None:
    left = counts.get(key, 1) - 1
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)


def cut(sock: socket.socket) -> None:
    # NB: the plain socket's shutdown, also for a TLS one: SSLSocket.shutdown would drop
    # its TLS state under the thread still reading it.
    with contextlib.suppress(OSError):  # NB: already closed by the peer
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
