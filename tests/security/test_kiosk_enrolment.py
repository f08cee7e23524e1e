"""Enrolled kiosks: nobody on the network listens to the kiosk without its credential."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import socketio
from edgekit import RunningEdge, cookie_pair, request, running_edge
from polling import wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEdge]:
    with running_edge(tmp_path_factory.mktemp("kiosk")) as running:
        yield running


def kiosk_enrol(edge: RunningEdge, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "storeedge", "kiosk-enrol", "--config", str(edge.config), *extra],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def enrol(edge: RunningEdge) -> str:
    """What the technician does: run the command, open its URL; the browser's cookie."""
    done = kiosk_enrol(edge, "kiosk-1")
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip().splitlines()[-1]  # CONTRACTS 6: the URL is the last line
    assert url.startswith(f"{edge.base}/enrol/")
    opened = request(edge, "GET", urlsplit(url).path)
    assert opened.status == 303
    assert opened.headers["location"] == "/kiosk/kiosk-1"
    (set_cookie,) = opened.cookies
    assert "HttpOnly" in set_cookie
    assert "SameSite=Strict" in set_cookie
    assert "Max-Age=" in set_cookie
    again = request(edge, "GET", urlsplit(url).path)  # one-time
    assert again.status == 403
    assert 'data-testid="not-enrolled"' in again.body
    return cookie_pair(set_cookie)


def kiosk_client(edge: RunningEdge, cookie: str | None) -> tuple[socketio.Client, list[Any]]:
    greetings: list[Any] = []
    lock = threading.Lock()
    client = socketio.Client(reconnection=False)

    def greet(data: Any) -> None:
        with lock:
            greetings.append(data)

    client.on("greet", greet, namespace="/kiosk")
    client.connect(
        edge.base,
        namespaces=["/kiosk"],
        auth={"kiosk_id": "kiosk-1"},
        headers={"Cookie": cookie} if cookie else {},
        transports=["websocket"],
        wait_timeout=5,
    )
    return client, greetings


def test_an_unenrolled_browser_gets_neither_page_nor_socket(edge: RunningEdge) -> None:
    for path in ("/", "/kiosk/kiosk-1"):
        page = request(edge, "GET", path)  # NB: from loopback: loopback is not a credential
        assert page.status == 403
        assert 'data-testid="not-enrolled"' in page.body
        assert "storeedge kiosk-enrol --config" in page.body
        assert "kiosk-config" not in page.body
    forged = request(edge, "GET", "/kiosk/kiosk-1", headers={"Cookie": "storeedge_kiosk=kiosk-1.x"})
    assert forged.status == 403

    for cookie in (None, "storeedge_kiosk=kiosk-1.forged"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            kiosk_client(edge, cookie)


def test_an_enrolled_kiosk_gets_its_greeting_and_loses_it_when_revoked(
    edge: RunningEdge,
) -> None:
    cookie = enrol(edge)
    page = request(edge, "GET", "/kiosk/kiosk-1", headers={"Cookie": cookie})
    assert page.status == 200
    assert "kiosk-config" in page.body
    home = request(edge, "GET", "/", headers={"Cookie": cookie})
    assert home.status == 200

    client, greetings = kiosk_client(edge, cookie)
    try:
        # NB: the simulated walk brings Jean to the kiosk about 15 s after the start.
        assert wait_until(lambda: bool(greetings), 60), edge.log()[-2000:]
        assert greetings[0]["first_name"] == "Jean"

        revoked = kiosk_enrol(edge, "kiosk-1", "--revoke")
        assert revoked.returncode == 0, revoked.stderr
        assert "1 screen credential(s) revoked" in revoked.stdout
        assert wait_until(lambda: not client.connected, 6)
    finally:
        client.disconnect()
    assert request(edge, "GET", "/kiosk/kiosk-1", headers={"Cookie": cookie}).status == 403
    with pytest.raises(socketio.exceptions.ConnectionError):
        kiosk_client(edge, cookie)
    assert "Traceback" not in edge.log()
