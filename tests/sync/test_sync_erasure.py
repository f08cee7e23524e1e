"""Erasure leaves no byte of the customer in the edge's SQLite files (raw file reads)."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from polling import wait_until
from synckit import EdgeSync, RecordingHandler, arrival, fast

from storeedge.adapters.broker import PrivateMosquitto
from storeedge.adapters.mqtt import MqttLink
from storeedge.config import Settings
from storeedge.runtime import CoreLoop
from storeedge.simulators.central import CentralSimulator

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
        assert wait_until(lambda: len(edge.cache.profile_ids()) == 61, 10.0)
        assert wait_until(lambda: len(edge.handler.commands) == 1, 10.0)
        for n in range(300):
            edge.outbox.emit(arrival(n, customer_id=JEAN_ID if n % 3 == 0 else "C-900001"))
        assert central.wait_for(lambda c: c.checker.counts["unique"] >= 300, 20)
        assert raw_hits(settings.data.dir, wanted)  # the test can see the bytes at all

        started = time.monotonic()
        central.erase_profile(JEAN_ID)
        assert wait_until(lambda: edge.handler.erased == [JEAN_ID], 1.0)
        assert time.monotonic() - started < 1.0
        assert JEAN_ID not in edge.cache.profile_ids()
        assert wait_until(
            lambda: edge.outbox.pending() == 0 and edge.outbox.stats().get("scrubs", 0) >= 1, 10.0
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
        assert wait_until(lambda: edge.outbox.stats().get("scrubs", 0) >= 1, 10.0)
        central.stop()
        assert raw_hits(settings.data.dir, {"id": JEAN_ID.encode()}) == []
    finally:
        edge.stop()


# --- an erasure the core does not confirm in time -------------------------------------------


class SlowCore(RecordingHandler):
    """The core as the composition root reaches it: a real CoreLoop, called with a timeout.

    Its erase blocks the loop until ``release`` is set, far longer than ``timeout``.
    """

    def __init__(self, timeout: float = 0.3) -> None:
        super().__init__()
        self.core = CoreLoop("test-slow-core")
        self.core.start()
        self.release = threading.Event()
        self.timeout = timeout
        self.forgotten: list[str] = []

    def on_erase(self, customer_id: str) -> None:
        self.core.call(lambda: self._forget(customer_id), timeout=self.timeout)
        super().on_erase(customer_id)

    def _forget(self, customer_id: str) -> None:
        self.release.wait(30)
        self.forgotten.append(customer_id)

    def close(self) -> None:
        self.release.set()
        self.core.stop()


def _slow_edge(settings: Settings) -> tuple[EdgeSync, SlowCore]:
    edge = EdgeSync(settings)
    slow = SlowCore()
    edge.handler = slow
    edge.link = MqttLink(
        settings, edge.outbox, edge.cache, slow, "boot-1", "test", backoff_min_s=0.1
    )
    return edge, slow


def _erasure_sent_to_a_slow_core(
    settings: Settings, mosquitto: PrivateMosquitto, jean_profile: dict[str, Any]
) -> tuple[CentralSimulator, EdgeSync, SlowCore]:
    """Jean's profile and 20 of his events synced, then central erases him: the edge's
    core is stuck, so the erasure cannot complete yet."""
    central = CentralSimulator(mosquitto.host, mosquitto.port, "store-042")
    central.start()
    edge, slow = _slow_edge(settings)
    edge.start()
    try:
        central.publish_profile(jean_profile)
        assert wait_until(lambda: JEAN_ID in edge.cache.profile_ids(), 10.0)
        for n in range(20):
            edge.outbox.emit(arrival(n, customer_id=JEAN_ID))
        assert central.wait_for(lambda c: c.checker.counts["unique"] >= 20, 10)
        central.erase_profile(JEAN_ID)
    except BaseException:
        edge.stop()
        slow.close()
        central.stop()
        raise
    return central, edge, slow


def test_an_erasure_the_core_did_not_confirm_is_completed_before_it_is_acknowledged(
    mosquitto: PrivateMosquitto,
    make_settings: Callable[..., Settings],
    jean_profile: dict[str, Any],
) -> None:
    settings = fast(make_settings(port=mosquitto.port))
    central, edge, slow = _erasure_sent_to_a_slow_core(settings, mosquitto, jean_profile)
    try:
        assert wait_until(
            lambda: JEAN_ID not in edge.cache.profile_ids(), 10.0
        )  # the cache part is done
        time.sleep(4 * slow.timeout)  # the core call times out, and the first retry's too
        assert edge.link.inbound_counters.get("customers.erased", 0) == 0
        assert edge.outbox.stats().get("scrubs", 0) == 0
        slow.release.set()  # the core answers again
        assert wait_until(lambda: edge.link.inbound_counters.get("customers.erased", 0) == 1, 10.0)
        assert slow.forgotten[0] == JEAN_ID
        assert wait_until(lambda: edge.outbox.stats().get("scrubs", 0) >= 1, 10.0)
        assert edge.link.connected
    finally:
        edge.stop()
        slow.close()
    # acknowledged once complete: the broker does not deliver it again to the next run
    again = EdgeSync(settings).start()
    try:
        assert wait_until(lambda: again.link.connected, 10.0)
        time.sleep(1.5)
        assert again.handler.erased == []
    finally:
        again.stop()
        central.stop()


def test_an_erasure_still_incomplete_at_a_stop_is_redelivered_to_the_next_run(
    mosquitto: PrivateMosquitto,
    make_settings: Callable[..., Settings],
    jean_profile: dict[str, Any],
) -> None:
    settings = fast(make_settings(port=mosquitto.port))
    central, edge, slow = _erasure_sent_to_a_slow_core(settings, mosquitto, jean_profile)
    try:
        assert wait_until(lambda: JEAN_ID not in edge.cache.profile_ids(), 10.0)
        time.sleep(2 * slow.timeout)  # the core call times out
    finally:
        edge.stop()  # the core never answered
        slow.close()
    assert edge.link.inbound_counters.get("customers.erased", 0) == 0
    again = EdgeSync(settings).start()  # same client id: the broker's session has the message
    try:
        assert wait_until(lambda: again.handler.erased == [JEAN_ID], 10.0)
        assert wait_until(lambda: again.outbox.stats().get("scrubs", 0) >= 1, 10.0)
        assert raw_hits(settings.data.dir, {"id": JEAN_ID.encode()}) == []
    finally:
        again.stop()
        central.stop()
