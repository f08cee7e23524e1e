"""A small TCP proxy on loopback for link faults: black hole, reset, latency.

The edge connects to the proxy, the proxy to the broker. Faults are switched
at run time from the test:

- ``blackhole(True)``: connections stay open but nothing moves, both ways (a
  dead uplink that TCP has not noticed). NB: bytes are held, not discarded: a
  real black hole loses IP packets, which TCP retransmits, so the stream the
  broker finally sees is never missing a piece in the middle;
- ``reset()``: every open connection is closed with a TCP RST;
- ``latency(s)``: every chunk is delivered ``s`` seconds late, in order;
- ``reject_mqtt5(True)``: answers an MQTT 5 CONNECT with the 3.1.1 refusal
  "unacceptable protocol version" and closes, like a 3.1.1-only broker.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import socket
import struct
import threading
import time

_LOGGER = logging.getLogger(__name__)
_CHUNK = 65536


class _Pipe:
    """One direction of one connection, with optional delay."""

    def __init__(self, proxy: LinkProxy, src: socket.socket, dst: socket.socket) -> None:
        self._proxy = proxy
        self._src = src
        self._dst = dst
        self._due: list[tuple[float, int, bytes]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._last_due = 0.0

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True, name="linkproxy-read").start()
        threading.Thread(target=self._write, daemon=True, name="linkproxy-write").start()

    def _read(self) -> None:
        try:
            while True:
                self._proxy.hold()
                data = self._src.recv(_CHUNK)
                if not data:
                    break
                with self._cond:
                    # NB: a byte stream stays in order: never due before what came earlier
                    due = max(time.monotonic() + self._proxy.delay, self._last_due)
                    self._last_due = due
                    heapq.heappush(self._due, (due, next(self._order), data))
                    self._cond.notify()
        except OSError:
            pass
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify()

    def _write(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._due and not self._closed:
                        self._cond.wait(0.1)
                    if not self._due and self._closed:
                        break
                    due, _n, data = self._due[0]
                    wait = due - time.monotonic()
                    if wait > 0:
                        self._cond.wait(min(wait, 0.05))
                        continue
                    heapq.heappop(self._due)
                self._proxy.hold()
                self._dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                self._dst.shutdown(socket.SHUT_WR)


class LinkProxy:
    """Forwards 127.0.0.1:``port`` to the upstream broker, with switchable faults."""

    def __init__(self, upstream_host: str, upstream_port: int, port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self.host = "127.0.0.1"
        self.is_blackhole = False
        self.delay = 0.0
        self._reject_v5 = False
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._stopping = False
        self.accepted = 0

    def start(self) -> LinkProxy:
        threading.Thread(target=self._accept, daemon=True, name="linkproxy-accept").start()
        return self

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.close()
        self.reset()

    # --- faults ----------------------------------------------------------------------------

    def blackhole(self, on: bool) -> None:
        self.is_blackhole = on

    def hold(self) -> None:
        """Blocks while the black hole is on."""
        while self.is_blackhole and not self._stopping:
            time.sleep(0.02)

    def latency(self, seconds: float) -> None:
        self.delay = max(0.0, seconds)

    def reject_mqtt5(self, on: bool) -> None:
        self._reject_v5 = on

    def reset(self) -> int:
        """Closes every open connection with a TCP RST; returns how many."""
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                sock.close()
        return len(sockets) // 2

    # --- plumbing --------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self.accepted += 1
        first = b""
        if self._reject_v5:
            first = self._peek_connect(client)
            if _protocol_level(first) == 5:
                with contextlib.suppress(OSError):
                    client.sendall(bytes([0x20, 0x02, 0x00, 0x01]))
                client.close()
                return
        self.hold()
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        if first:
            upstream.sendall(first)
        with self._lock:
            self._open += [client, upstream]
        _Pipe(self, client, upstream).start()
        _Pipe(self, upstream, client).start()

    @staticmethod
    def _peek_connect(client: socket.socket) -> bytes:
        """Reads the start of an MQTT CONNECT: fixed header, remaining length, name, level."""
        data = b""
        client.settimeout(5)
        with contextlib.suppress(OSError):
            while _protocol_level(data) is None and len(data) < 16:
                chunk = client.recv(1)
                if not chunk:
                    break
                data += chunk
        client.settimeout(None)
        return data


def _protocol_level(data: bytes) -> int | None:
    """The protocol level of a CONNECT's start (4 = 3.1.1, 5 = MQTT 5), None if incomplete."""
    index = 1
    while index < len(data) and data[index] & 0x80:  # remaining length: a varint
        index += 1
    level_at = index + 1 + 6  # after the varint: 00 04 'M' 'Q' 'T' 'T', then the level
    return data[level_at] if len(data) > level_at else None
