"""The thin slice end to end: the demo's wiring against a real mosquitto and real SQLite.

Jean walks in; his `storeedge.customer.arrived` CloudEvent reaches the simulated
central platform on the contract topic; a Socket.IO client of the kiosk gets the
greeting; the staff console sees the arrival and the pickup alert.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import socketio
from polling import wait_until

from storeedge.adapters.broker import wait_for_port
from storeedge.demo import Demo

QUICK_WALK = (("outside", 0.5), ("entrance", 2.0), ("floor", 1.0), ("kiosk", 120.0))


@pytest.fixture
def demo(tmp_path: Path) -> Any:
    running = Demo(web_port=0, data_dir=tmp_path, script=QUICK_WALK)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def connect(url: str, namespace: str, auth: dict[str, str] | None) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.connect(url, namespaces=[namespace], auth=auth, transports=["websocket"])
    return client


def test_jean_arrives_at_central_and_is_greeted_at_the_kiosk(demo: Any) -> None:
    web = demo.edge.web
    base = f"http://127.0.0.1:{web.port}"
    lock = threading.Lock()
    greetings: list[dict[str, Any]] = []
    staff_seen: list[tuple[str, dict[str, Any]]] = []

    kiosk = socketio.Client(reconnection=False)
    kiosk.on("greet", greetings.append, namespace="/kiosk")
    staff = socketio.Client(reconnection=False)
    for name in ("arrival", "alert"):
        staff.on(name, lambda data, n=name: staff_seen.append((n, data)), namespace="/staff")
    # NB: the kiosk's browser was enrolled (what `storeedge kiosk-enrol` hands out).
    token = web.kiosks.enrolments.issue("kiosk-1")
    spent = web.kiosks.enrolments.redeem(token)
    assert spent is not None
    kiosk.connect(
        base,
        namespaces=["/kiosk"],
        auth={"kiosk_id": "kiosk-1"},
        headers={"Cookie": f"storeedge_kiosk={spent[0]}.{spent[1]}"},
        transports=["websocket"],
    )
    staff.connect(base, namespaces=["/staff"], transports=["websocket"])
    try:
        topic = "storeedge/v1/store-042/edge-1/events/customer.arrived"

        def arrived() -> list[Any]:
            with lock:
                return [
                    e
                    for e in demo.central.events
                    if e.topic == topic and e.event["data"]["customer_id"] == "C-000123"
                ]

        assert wait_until(lambda: bool(arrived()), 30), demo.central.summary()
        event = arrived()[0].event
        assert event["specversion"] == "1.0"
        assert event["source"] == "/stores/store-042/edges/edge-1"
        assert event["type"] == "storeedge.customer.arrived"
        assert event["data"]["via"] == "ble"
        assert event["sequence"].isdigit()
        assert len(event["sequence"]) == 20

        assert wait_until(lambda: bool(greetings), 30)
        assert greetings[0]["first_name"] == "Jean"
        assert greetings[0]["language"] == "fr"

        assert wait_until(lambda: any(n == "alert" for n, _ in staff_seen), 10)
        kinds = {d.get("kind") for n, d in staff_seen if n == "alert"}
        assert "pickup" in kinds
        assert any(n == "arrival" and d["display_name"] == "Jean" for n, d in staff_seen)
        # The outbox is real SQLite under the data dir.
        assert (demo.data_dir / "edge" / "outbox.sqlite").exists()
    finally:
        kiosk.disconnect()
        staff.disconnect()


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.timeout(90)
def test_demo_command_prints_the_kiosk_url_first_and_stops_cleanly(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "storeedge", "demo", "--port", "0", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("kiosk:"), first
        url = first.split()[-1]
        port = int(url.split(":")[2].split("/")[0])
        assert wait_for_port("127.0.0.1", port, 10)
        children = children_of(proc.pid)
        assert children, "the demo runs a private mosquitto"
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
        stopped_in = time.monotonic() - started
        assert proc.returncode == 0
        assert stopped_in < 5.0
        assert wait_until(lambda: not any(alive(c) for c in children), 2)
        assert not wait_for_port("127.0.0.1", port, 0.3)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
