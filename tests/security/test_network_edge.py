"""What reaches the server from the network: garbage, foreign Host names, forged headers,
malformed WebSocket upgrades. Behind a configured proxy (127.0.0.9) and one allowed name.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator

import pytest
import websocket
from edgekit import RunningEdge, raw, request, running_edge

pytestmark = pytest.mark.timeout(120)

PROXY = "127.0.0.9"
WEB = f'allowed_hosts = ["edge-042.store.example"]\ntrusted_proxy = "{PROXY}"\n'


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEdge]:
    with running_edge(tmp_path_factory.mktemp("network"), web=WEB) as running:
        yield running


def status_of(answer: bytes) -> int:
    head = answer.split(b"\r\n", 1)[0].split()
    return int(head[1]) if len(head) > 1 and head[1].isdigit() else -1


def garbage_lines(count: int) -> list[bytes]:
    rng = random.Random(13)
    lines = [
        b"GET",
        b"GET /",  # HTTP/0.9 style
        b"GET / HTTP",
        b"GET / FTP/1.1",
        b"GET / HTTP/1.1 extra",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello to plain HTTP
        b"GET / HTTP/1.x",
        b"\xff\xfe\x00\x01 \xc3\x28 HTTP/1.1",
    ]
    while len(lines) < count:
        words = rng.randint(1, 6)
        line = b" ".join(
            bytes(rng.choice(range(33, 256)) for _ in range(rng.randint(1, 20)))
            for _ in range(words)
        )
        if len(line.split()) == 3 and line.split()[2].startswith(b"HTTP/"):
            continue  # NB: a well-formed line by chance
        lines.append(line)
    return lines[:count]


def test_300_garbage_request_lines_get_400_and_no_traceback(edge: RunningEdge) -> None:
    before = len(edge.log().splitlines())
    statuses = [status_of(raw(edge, line + b"\r\n\r\n")) for line in garbage_lines(300)]

    assert set(statuses) == {400}, sorted(set(statuses))
    log = edge.log()
    assert "Traceback" not in log
    assert len(log.splitlines()) - before < 10, "garbage must not flood the log"
    assert request(edge, "GET", "/healthz").status == 200


def test_foreign_host_names_get_400(edge: RunningEdge) -> None:
    def get(host: bytes | None) -> int:
        header = b"" if host is None else b"Host: " + host + b"\r\n"
        return status_of(
            raw(edge, b"GET /staff/login HTTP/1.1\r\n" + header + b"Connection: close\r\n\r\n")
        )

    assert get(b"evil.example") == 400  # DNS rebinding: the attacker's name, our address
    assert get(b"evil.example:8080") == 400
    assert get(b"edge-042.store.example.evil.example") == 400
    assert get(None) == 400
    assert get(b"edge-042.store.example") == 200
    assert get(b"EDGE-042.store.example:443") == 200
    assert get(b"127.0.0.1") == 200
    assert get(b"[::1]:8080") == 200
    assert get(b"localhost") == 200


def test_server_header_gives_no_version(edge: RunningEdge) -> None:
    page = request(edge, "GET", "/staff/login")
    assert page.headers["server"] == "storeedge"
    bad = raw(edge, b"NOPE\r\n\r\n")
    assert b"Werkzeug" not in bad
    assert b"Python" not in bad


def ws_upgrade(edge: RunningEdge, headers: dict[str, str], source: str = "127.0.0.1") -> int:
    lines = ["GET /socket.io/?EIO=4&transport=websocket HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode()
    answer = raw(edge, data, source=source, timeout=3, head_only=True)
    return status_of(answer)


GOOD_KEY = base64.b64encode(b"0123456789abcdef").decode()


def test_malformed_websocket_upgrades_get_400(edge: RunningEdge) -> None:
    base = {"Upgrade": "websocket", "Connection": "Upgrade", "Origin": "http://127.0.0.1"}
    assert ws_upgrade(edge, base) == 400  # no version, no key
    assert ws_upgrade(edge, {**base, "Sec-WebSocket-Version": "13"}) == 400  # no key
    assert (
        ws_upgrade(edge, {**base, "Sec-WebSocket-Version": "8", "Sec-WebSocket-Key": GOOD_KEY})
        == 400
    )
    for key in ("x", "not base64!!", base64.b64encode(b"short").decode(), "A" * 200):
        assert (
            ws_upgrade(edge, {**base, "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key})
            == 400
        )
    no_conn = {"Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": GOOD_KEY}
    assert ws_upgrade(edge, no_conn) == 400
    good = {**base, "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": GOOD_KEY}
    assert ws_upgrade(edge, good) == 101
    assert "Traceback" not in edge.log()


def test_forwarded_host_is_ignored_from_anyone_but_the_proxy(edge: RunningEdge) -> None:
    url = f"ws://127.0.0.1:{edge.port}/socket.io/?EIO=4&transport=websocket"
    # NB: Engine.IO's same-origin check would take X-Forwarded-Host for the Host.
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(
            url,
            origin="http://evil.example",
            header=["X-Forwarded-Host: evil.example", "X-Forwarded-Proto: http"],
            timeout=5,
        )
    forged = ws_upgrade(
        edge,
        {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": GOOD_KEY,
            "Origin": "http://evil.example",
            "X-Forwarded-Host": "evil.example",
        },
        source=PROXY,
    )
    assert forged == 400  # the proxy's forwarded Host is checked like a Host


def test_healthz_details_go_to_loopback_not_to_the_network(edge: RunningEdge) -> None:
    # A tablet at 192.168.1.40 asking through the configured proxy: the public answer.
    public = request(
        edge, "GET", "/healthz", source=PROXY, headers={"X-Forwarded-For": "192.168.1.40"}
    )
    assert public.status == 200
    assert json.loads(public.body) == {"status": json.loads(public.body)["status"]}
    assert json.loads(public.body)["status"] in ("ok", "degraded")
    # The same header from anyone else is not believed: this is loopback asking.
    local = request(
        edge, "GET", "/healthz", source="127.0.0.2", headers={"X-Forwarded-For": "192.168.1.40"}
    )
    detailed = json.loads(local.body)
    assert detailed["kiosks"] == ["kiosk-1"]
    assert "mqtt" in detailed
