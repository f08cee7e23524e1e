"""Erasure leaves no byte of the customer in the edge's SQLite files (raw file reads)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synckit import EdgeSync, arrival, fast

from simulators.central import CentralSimulator
from storeedge.adapters.broker import PrivateMosquitto
from storeedge.config import Settings

JEAN_ID = "C-000123"


def needles(profile: dict[str, Any]) -> dict[str, bytes]:
    key_hex = profile["ble"]["identity_key"]
    return {
        "customer_id": JEAN_ID.encode(),
        "identity_key_hex": key_hex.encode(),
        "identity_key_raw": bytes.fromhex(key_hex),
        "totp_secret": profile["qr"]["totp_secret"].encode(),
        "display_name": b"Jean-Baptiste Erasable",
    }


def raw_hits(data_dir: Path, wanted: dict[str, bytes]) -> list[str]:
    hits = []
    for path in sorted(data_dir.iterdir()):
        if path.is_file():
            blob = path.read_bytes()
            hits += [f"{path.name}: {name}" for name, value in wanted.items() if value in blob]
    return hits


def others(n: int, template: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        p = copy.deepcopy(template)
        p["customer_id"] = f"C-9{i:05d}"
        p["display_name"] = f"Other {i}"
        p["ble"]["identity_key"] = f"{i + 1:032x}"
        p["qr"]["totp_secret"] = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        out.append(p)
    return out


def test_erasure_leaves_no_byte_in_any_file(
    mosquitto: PrivateMosquitto,
    make_settings: Callable[..., Settings],
    jean_profile: dict[str, Any],
) -> None:
    jean_profile["display_name"] = "Jean-Baptiste Erasable"
    wanted = needles(jean_profile)
    settings = fast(make_settings(port=mosquitto.port))
    central = CentralSimulator(mosquitto.host, mosquitto.port, "store-042")
    central.start()
    edge = EdgeSync(settings).start()
    try:
        for other in others(60, jean_profile):
            central.publish_profile(other)
        for version in range(5):  # old versions of the profile must go too
            jean_profile["loyalty"]["points"] = 1000 + version
            central.publish_profile(jean_profile)
        for other in others(60, jean_profile)[30:]:
            central.publish_profile(other)
        central.send_command("edge-1", "pairing.claim", {"customer_id": JEAN_ID, "kiosk": "k-1"})
        assert _until(lambda: len(edge.cache.profile_ids()) == 61)
        assert _until(lambda: len(edge.handler.commands) == 1)
        for n in range(300):
            edge.outbox.emit(arrival(n, customer_id=JEAN_ID if n % 3 == 0 else "C-900001"))
        assert central.wait_for(lambda c: c.checker.counts["unique"] >= 300, 20)
        assert raw_hits(settings.data.dir, wanted)  # the test can see the bytes at all

        started = time.monotonic()
        central.erase_profile(JEAN_ID)
        assert _until(lambda: edge.handler.erased == [JEAN_ID], 1.0)
        assert time.monotonic() - started < 1.0
        assert JEAN_ID not in edge.cache.profile_ids()
        assert _until(
            lambda: edge.outbox.pending() == 0 and edge.outbox.stats().get("scrubs", 0) >= 1
        )
        assert raw_hits(settings.data.dir, wanted) == []
        assert len(edge.cache.profiles()) == 60  # the others are untouched
    finally:
        edge.stop()
        central.stop()
    assert raw_hits(settings.data.dir, wanted) == []


def test_erasure_waits_for_the_events_already_decided(
    mosquitto: PrivateMosquitto,
    make_settings: Callable[..., Settings],
    jean_profile: dict[str, Any],
) -> None:
    """Offline edge: the decided events about the customer still leave, then the file is clean."""
    settings = fast(make_settings(port=mosquitto.port))
    edge = EdgeSync(settings)
    try:
        edge.cache.put_profile(jean_profile)
        for n in range(50):
            edge.outbox.emit(arrival(n, customer_id=JEAN_ID))
        assert edge.outbox.flush()
        edge.cache.erase_customer(JEAN_ID)
        edge.outbox.request_scrub()
        assert edge.outbox.flush()
        assert edge.outbox.pending() == 50  # nothing decided is thrown away
        central = CentralSimulator(mosquitto.host, mosquitto.port, "store-042")
        central.start()
        edge.start()
        assert central.wait_for(lambda c: c.checker.counts["unique"] >= 50, 20)
        assert _until(lambda: edge.outbox.stats().get("scrubs", 0) >= 1)
        central.stop()
        assert raw_hits(settings.data.dir, {"id": JEAN_ID.encode()}) == []
    finally:
        edge.stop()


def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
