"""A server that survives its network: 1,000 idle sockets, a slow client, the cap's 503."""

from __future__ import annotations

import base64
import contextlib
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket
from edgekit import RunningEdge, raw, request, running_edge
from polling import wait_until

from storeedge.web import connections, server

pytestmark = pytest.mark.timeout(120)

IDLE = 1000


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEdge]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, IDLE + 512) if hard != resource.RLIM_INFINITY else IDLE + 512
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    with running_edge(tmp_path_factory.mktemp("idle")) as running:
        yield running
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def probe(edge: RunningEdge, source: str) -> tuple[int, float]:
    """``/healthz`` from ``source``: (status, or -1 for no answer; seconds taken)."""
    started = time.monotonic()
    try:
        answer = raw(
            edge,
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            source=source,
            timeout=2.0,
        )
        status = int(answer.split()[1]) if answer.startswith(b"HTTP/") else -1
    except OSError:
        status = -1
    return status, time.monotonic() - started


def test_1000_idle_sockets_leave_healthz_answering(edge: RunningEdge) -> None:
    fds_before, rss_before = edge.open_fds(), edge.status("VmRSS")
    idle: list[socket.socket] = []
    try:
        # 1,000 connections that never send a byte, from 25 "machines" (40 each).
        for n in range(IDLE):
            source = f"127.0.2.{1 + n % 25}"
            sock = socket.create_connection(
                ("127.0.0.1", edge.port), timeout=5, source_address=(source, 0)
            )
            idle.append(sock)
        time.sleep(0.3)
        held = edge.open_fds() - fds_before
        rss_growth_mb = (edge.status("VmRSS") - rss_before) / 1024
        threads = edge.status("Threads")

        # NB: each probe's connection takes the place of the oldest silent one.
        answers = [probe(edge, f"127.0.3.{i}") for i in range(1, 11)]
        for status, took in answers:
            assert took < 1.0, answers
            assert status == 200, answers
        assert held <= connections.MAX_CONNECTIONS + connections.EVICTING_MAX, held
        assert "connection cap reached" in edge.log()
        # The silent ones are cut: the pressed deadline, then the plain one.
        settle = connections.HEAD_TIMEOUT_S + 3
        assert wait_until(lambda: edge.open_fds() <= fds_before + 16, settle)
        assert edge.proc.poll() is None
        print(  # noqa: T201
            f"{IDLE} idle sockets: +{held} descriptors ({fds_before} before), {threads} threads, "
            f"RSS +{rss_growth_mb:.0f} MB; probes {answers}"
        )
    finally:
        for sock in idle:
            sock.close()
    assert wait_until(lambda: edge.open_fds() <= fds_before + 8, 10)
    assert "Traceback" not in edge.log()


def test_a_client_trickling_its_headers_is_cut(edge: RunningEdge) -> None:
    sock = socket.create_connection(
        ("127.0.0.1", edge.port), timeout=2, source_address=("127.0.4.1", 0)
    )
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    started = time.monotonic()
    closed = False
    with contextlib.closing(sock):
        while time.monotonic() - started < connections.HEAD_TIMEOUT_S + 5:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
                time.sleep(0.5)
                sock.settimeout(0.01)
                with contextlib.suppress(TimeoutError):
                    if sock.recv(1) == b"":
                        closed = True
                        break
            except OSError:
                closed = True
                break
    elapsed = time.monotonic() - started
    assert closed
    assert elapsed < connections.HEAD_TIMEOUT_S + 3


def test_one_address_cannot_take_every_connection(edge: RunningEdge) -> None:
    mine = [
        socket.create_connection(
            ("127.0.0.1", edge.port), timeout=5, source_address=("127.0.5.1", 0)
        )
        for _ in range(connections.MAX_PER_ADDRESS + 5)
    ]
    try:
        time.sleep(0.3)
        over = raw(edge, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", source="127.0.5.1")
        assert over.startswith(b"HTTP/1.1 503")
        assert b"Retry-After: 5" in over
        assert request(edge, "GET", "/healthz", source="127.0.5.2").status == 200
    finally:
        for sock in mine:
            sock.close()


def test_websockets_have_their_own_caps(edge: RunningEdge) -> None:
    key = base64.b64encode(b"0123456789abcdef")
    upgrade = (
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Origin: http://127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + b"\r\n\r\n"
    )
    held: list[socket.socket] = []
    try:
        statuses = []
        for _ in range(connections.MAX_WEBSOCKETS_PER_ADDRESS + 1):
            sock = socket.create_connection(
                ("127.0.0.1", edge.port), timeout=5, source_address=("127.0.7.1", 0)
            )
            held.append(sock)
            sock.sendall(upgrade)
            statuses.append(sock.recv(4096).split(b" ", 2)[1])
        assert statuses == [b"101"] * connections.MAX_WEBSOCKETS_PER_ADDRESS + [b"503"]
        assert request(edge, "GET", "/healthz", source="127.0.7.2").status == 200
    finally:
        for sock in held:
            sock.close()


def test_a_socket_that_joins_no_screen_is_closed(edge: RunningEdge) -> None:
    url = f"ws://127.0.0.1:{edge.port}/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(url, origin=edge.base, timeout=3)
    started = time.monotonic()
    assert ws.recv().startswith("0{")  # Engine.IO open; no Socket.IO namespace asked
    closed = False
    try:
        while time.monotonic() - started < server.ANONYMOUS_SOCKET_S + 8:
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, OSError):
                closed = True
                break
            if frame == "2":
                ws.send("3")  # a live client: it answers pings
            elif frame in ("", "1"):
                closed = True
                break
    finally:
        ws.close()
    assert closed
    assert time.monotonic() - started < server.ANONYMOUS_SOCKET_S + 6


def test_a_low_file_limit_lowers_the_cap_instead_of_spinning(tmp_path: Path) -> None:
    # NB: a unit with LimitNOFILE=128: the cap must be reached before accept() fails.
    with running_edge(tmp_path, nofile=128) as edge:
        assert "file descriptor limit allows 64 connections" in edge.log()
        idle = [
            socket.create_connection(
                ("127.0.0.1", edge.port), timeout=5, source_address=(f"127.0.8.{1 + n % 25}", 0)
            )
            for n in range(300)
        ]
        try:
            time.sleep(0.3)
            cpu = edge.cpu_seconds()
            status, took = probe(edge, "127.0.8.100")
            assert (status, took < 1.0) == (200, True)
            time.sleep(2.0)
            assert edge.cpu_seconds() - cpu < 1.0  # no busy loop
            assert edge.open_fds() < 128
        finally:
            for sock in idle:
                sock.close()
        assert "out of file descriptors" not in edge.log()
        assert "Traceback" not in edge.log()
