"""Edge trouble reaches the staff console: a corrupt outbox found at start."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import socketio
from polling import wait_until

from storeedge.adapters.broker import free_port
from storeedge.app import Edge, UiRelay
from storeedge.config import Settings
from storeedge.core.screens import KioskCleared, MemberLeft, ScreenMessage


class Screens:
    def __init__(self) -> None:
        self.seen: list[ScreenMessage] = []

    def show(self, message: ScreenMessage) -> None:
        self.seen.append(message)


def test_relay_replays_early_messages_on_attach() -> None:
    relay = UiRelay()
    early = MemberLeft("C-1")
    relay.show(early)
    screens = Screens()
    relay.attach(screens)
    relay.show(KioskCleared("kiosk-1"))
    assert screens.seen == [early, KioskCleared("kiosk-1")]


def test_corrupt_outbox_is_set_aside_and_staff_are_told(
    make_settings: Callable[..., Settings],
) -> None:
    # No broker: the alert's event stays in the outbox where the test can read it.
    settings = make_settings(port=free_port(), extra="[web]\nport = 0\n")
    outbox = settings.data.dir / "outbox.sqlite"
    outbox.write_bytes(b"this is not a database" * 512)
    edge = Edge(settings, sources=[])
    edge.start()
    snapshots: list[dict[str, Any]] = []
    staff = socketio.Client(reconnection=False)
    staff.on("snapshot", snapshots.append, namespace="/staff")
    try:
        staff.connect(
            f"http://127.0.0.1:{edge.web.port}", namespaces=["/staff"], transports=["websocket"]
        )
        staff.call("sync", {}, namespace="/staff", timeout=5)
        wait_until(lambda: snapshots)
        alerts = [a for snap in snapshots for a in snap.get("alerts", [])]
        health = json.loads(
            urllib.request.urlopen(f"http://127.0.0.1:{edge.web.port}/healthz", timeout=5).read()
        )
        assert edge.outbox.flush(5)
        raised = [
            json.loads(row.payload)["data"]
            for row in edge.outbox.fetch(100)
            if b"storeedge.alert.raised" in row.payload
        ]
    finally:
        staff.disconnect()
        edge.stop()
    aside = [p.name for p in settings.data.dir.iterdir() if "corrupt" in p.name]
    assert aside, "the corrupt file is renamed aside, never deleted"
    # No broker: the edge still serves (200) and says what is wrong.
    assert health["status"] == "degraded"
    assert health["mqtt"]["healthy"] is False
    assert health["outbox"]["quarantined"]
    assert health["devices"]["healthy"] is True
    shown = [a for a in alerts if a.get("kind") == "outbox_corrupt"]
    assert shown, alerts
    # Central gets the very alert the staff see: same id, so claims and resolves match.
    assert [r["alert_id"] for r in raised if r["kind"] == "outbox_corrupt"] == [
        shown[0]["alert_id"]
    ]
