"""Central unreachable: alerts, claims and handovers still happen, and sync afterwards.

A real Edge whose broker is down: the member card and the pickup code are typed
into a real serial pty at the counter, a clerk claims through the gateway (the
staff socket's path), then the broker comes up and central receives it all, in order.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable
from typing import Any

from polling import wait_until as until

from storeedge.adapters.broker import PrivateMosquitto, free_port
from storeedge.app import Edge
from storeedge.config import Settings
from storeedge.core.profiles import parse_profile
from storeedge.core.qr import totp
from storeedge.simulators.central import CentralSimulator


def code(profile: dict[str, Any], kind: str, ident: str) -> bytes:
    qr = profile["qr"]
    digits = totp(base64.b32decode(qr["totp_secret"]), time.time(), qr["period"], qr["digits"])
    return f"SE1:{kind}:{ident}:{digits}\r".encode()


def test_claim_and_handover_while_central_is_down_then_sync(
    make_settings: Callable[..., Settings], jean_profile: dict[str, Any]
) -> None:
    master, slave = os.openpty()
    port = free_port()
    extra = (
        '[web]\nport = 0\n\n[[qr_scanners]]\nid = "counter-qr"\nkind = "serial"\n'
        f'zone = "counter"\ndevice = "{os.ttyname(slave)}"\n'
    )
    edge = Edge(
        make_settings(port=port, extra=extra),
        sources=[],
        extra_profiles=[parse_profile(jean_profile)],
    )
    edge.start()
    broker = PrivateMosquitto(port=port)
    central: CentralSimulator | None = None
    try:
        assert not edge.link.connected
        os.write(master, code(jean_profile, "M", "C-000123"))  # Jean's card: a visit, an alert
        assert until(lambda: bool(edge.core.counters().get("qr.accepted.member")))
        alert_id = edge.loop.call(lambda: edge._pipeline.alerts.open_alerts()[0].alert_id)
        assert edge.core.claim_alert(alert_id, "Marie")
        os.write(master, code(jean_profile, "P", "O-98121"))
        assert until(lambda: bool(edge.core.counters().get("qr.accepted.pickup")))
        assert edge.loop.call(edge._pipeline.alerts.open_alerts) == []

        broker.start()
        central = CentralSimulator(broker.host, broker.port, "store-042")
        central.start()
        wanted = ["alert.raised", "alert.claimed", "pickup.handed_over", "alert.resolved"]

        def arrived() -> list[str]:
            short = [e.event["type"].removeprefix("storeedge.") for e in central.events]
            return [t for t in short if t in wanted]

        assert until(lambda: len(arrived()) == len(wanted), 40), arrived()
        # NB: after an outage the critical lane (alerts) leaves before the transaction lane
        assert sorted(arrived()) == sorted(wanted)
        (handed,) = central.events_of("storeedge.pickup.handed_over")
        assert handed.event["data"]["proof"] == "qr"
        assert central.checker.counts.get("gap", 0) == 0
    finally:
        if central is not None:
            central.stop()
        edge.stop()
        broker.close()
        os.close(master)
        os.close(slave)
