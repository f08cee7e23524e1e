"""WebApp served for real: a free port, a Socket.IO client over WebSocket, a clean stop."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
import urllib.request
from typing import Any

import pytest
import socketio
import websocket
from polling import wait_until
from webharness import Stack, enrolled_cookie

# NB: the client's engine logs to stderr by default; through a named logger it reaches
# pytest's log capture instead.
CLIENT_LOG = logging.getLogger("tests.web.socketio_client")


def make_client() -> socketio.Client:
    return socketio.Client(reconnection=False, logger=CLIENT_LOG, engineio_logger=CLIENT_LOG)


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    assert wait_until(predicate, timeout, every=0.02), "timed out"


def test_served_kiosk_greets_jean_over_websocket(
    stack: Stack, jean_profile: dict[str, Any]
) -> None:
    stack.web.start()
    assert stack.web.port > 0
    assert stack.web.kiosk_url() == f"http://127.0.0.1:{stack.web.port}/"
    assert stack.web.kiosk_url("kiosk-2").endswith("/kiosk/kiosk-2")
    assert stack.web.staff_url().endswith("/staff")
    cookie = enrolled_cookie(stack.web, "kiosk-1")
    request = urllib.request.Request(stack.web.kiosk_url(), headers={"Cookie": cookie})
    with urllib.request.urlopen(request) as page:  # loopback URL
        assert page.status == 200

    received: list[Any] = []
    client = make_client()
    client.on("greet", received.append, namespace="/kiosk")
    client.connect(
        stack.web.base_url(),
        namespaces=["/kiosk"],
        auth={"kiosk_id": "kiosk-1"},
        headers={"Cookie": cookie},
        transports=["websocket"],
        wait_timeout=5,
    )
    try:
        stack.walk_to_kiosk(jean_profile)
        wait_for(lambda: received)
    finally:
        # NB: the server closes first: a client-side close makes websocket-client wait
        # out its 3 s close handshake while its own reader thread eats the reply.
        stack.web.stop()
        wait_for(lambda: not client.connected)
        client.disconnect()
    assert received == [{"first_name": "Jean", "language": "fr"}]


def test_stop_is_quick_and_leaves_nothing_serving(stack: Stack) -> None:
    stack.web.start()
    port = stack.web.port
    clients = []
    for _ in range(3):
        client = make_client()
        client.connect(
            stack.web.base_url(),
            namespaces=["/staff"],
            transports=["websocket"],
            wait_timeout=5,
        )
        clients.append(client)

    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    idle.request("GET", "/healthz")  # HTTP/1.1: the connection then idles, kept alive
    idle.getresponse().read()

    started = time.monotonic()
    stack.web.stop()
    elapsed = time.monotonic() - started

    assert elapsed < 2.0
    names = [t.name for t in threading.enumerate()]
    assert "storeedge-web" not in names
    assert not [name for name in names if name.startswith("storeedge-http")]  # request threads
    idle.close()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    for client in clients:
        wait_for(lambda c=client: not c.connected)
        client.disconnect()
    stack.web.stop()  # idempotent


def test_cross_origin_websocket_is_refused(stack: Stack) -> None:
    stack.web.start()
    url = f"ws://127.0.0.1:{stack.web.port}/socket.io/?EIO=4&transport=websocket"

    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(url, origin="http://evil.example", timeout=5)

    same = websocket.create_connection(url, origin=stack.web.base_url(), timeout=5)
    try:
        frame = same.recv()
        assert isinstance(frame, str)
        assert frame.startswith("0{")
    finally:
        same.close()


def test_polling_transport_is_not_offered(stack: Stack) -> None:
    stack.web.start()
    url = f"{stack.web.base_url()}/socket.io/?EIO=4&transport=polling"

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url)  # loopback URL

    assert refused.value.code == 400
    refused.value.close()
