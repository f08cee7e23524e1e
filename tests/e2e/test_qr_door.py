"""The QR door wired into a running Edge: a member card typed into a real serial pty.

The scanner is a pseudo-terminal the edge reads as it would a USB CDC-ACM scanner;
the events land in the real SQLite outbox (no broker: they wait there).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from polling import wait_until
from qrkit import app_code, serial_pty

from storeedge.adapters.broker import free_port
from storeedge.app import Edge
from storeedge.config import Settings
from storeedge.core.profiles import parse_profile


@pytest.fixture
def pty() -> Iterator[tuple[int, str]]:
    with serial_pty() as device:
        yield device


def outbox_events(edge: Edge, seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events in the outbox so far (a fetch hands each row out once: keep what we saw)."""
    assert edge.outbox.flush(5)
    seen.extend(json.loads(row.payload) for row in edge.outbox.fetch(1000))
    return seen


def test_member_card_at_a_serial_scanner_opens_a_visit_via_qr(
    make_settings: Callable[..., Settings],
    jean_profile: dict[str, Any],
    pty: tuple[int, str],
    tmp_path: Path,
) -> None:
    master, device = pty
    extra = (
        f'[web]\nport = 0\n\n[[qr_scanners]]\nid = "counter-qr"\nkind = "serial"\n'
        f'zone = "floor"\ndevice = "{device}"\n\n'
        f'[[qr_scanners]]\nid = "gone-qr"\nkind = "evdev"\nzone = "floor"\n'
        f'device = "{tmp_path / "unplugged"}"\n'
    )
    settings = make_settings(port=free_port(), extra=extra)
    edge = Edge(settings, sources=[], extra_profiles=[parse_profile(jean_profile)])
    edge.start()
    seen: list[dict[str, Any]] = []
    try:
        code = app_code(jean_profile, time.time())
        os.write(master, b"SE1:M:C-000123:00000000\r")  # forged: refused, opens nothing
        os.write(master, code.encode() + b"\r")
        assert wait_until(
            lambda: any(
                e["type"] == "storeedge.customer.arrived" for e in outbox_events(edge, seen)
            )
        )
        os.write(master, code.encode() + b"\r")  # replayed: refused
        assert wait_until(lambda: edge.core.counters().get("qr.refused.already_used") == 1)
        counters = edge.core.counters()
        health = edge.web.health.collect()[0]["devices"]
        arrived = [
            e for e in outbox_events(edge, seen) if e["type"] == "storeedge.customer.arrived"
        ]
    finally:
        edge.stop()
    assert [(a["data"]["via"], a["data"]["zone"]) for a in arrived] == [("qr", "floor")]
    assert counters["qr.refused.bad_code"] == 1
    assert counters["qr.accepted.member"] == 1
    scanners = {q["scanner"]: q["healthy"] for q in health["qr_scanners"]}
    assert scanners == {"counter-qr": True, "gone-qr": False}  # the unplugged one never stops run
