"""Through a real mosquitto: hostile payloads, commands with replies, refused PUBACKs, backoff."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from polling import wait_until
from synckit import EdgeSync, alert, fast

from storeedge.adapters.broker import PrivateMosquitto, find_mosquitto, free_port, wait_for_port
from storeedge.config import Settings
from storeedge.simulators.central import CentralSimulator

ROOT = "storeedge/v1/store-042"


@pytest.fixture
def pair(
    mosquitto: PrivateMosquitto, make_settings: Callable[..., Settings]
) -> Iterator[tuple[EdgeSync, CentralSimulator]]:
    central = CentralSimulator(mosquitto.host, mosquitto.port, "store-042")
    central.start()
    edge = EdgeSync(fast(make_settings(port=mosquitto.port))).start()
    assert wait_until(lambda: edge.link.connected, 10.0)
    yield edge, central
    edge.stop()
    central.stop()


def test_hostile_payloads_are_counted_and_valid_ones_still_apply(
    pair: tuple[EdgeSync, CentralSimulator], jean_profile: dict[str, Any]
) -> None:
    edge, central = pair
    hostile = [
        (f"{ROOT}/customers/C-000123", b"\x00\xff garbage"),
        (f"{ROOT}/customers/C-000123", b'{"customer_id": "C-000123", "vip": "yes"}'),
        (f"{ROOT}/customers/C-000123", b"[" * 100_000),
        (f"{ROOT}/customers/C-000123", b'{"a": "' + b"x" * 400_000 + b'"}'),
        (f"{ROOT}/customers/not an id", b"{}"),
        (f"{ROOT}/catalog/SKU-1", b'{"name": "x", "price": "free", "currency": "EUR"}'),
        (f"{ROOT}/catalog/SKU-1", b"1e999999"),
        (f"{ROOT}/edge-1/commands/pairing.claim", b'{"specversion": "0.3"}'),
        (f"{ROOT}/edge-1/commands/pairing.claim", b'{"specversion": "1.0", "id": 5}'),
    ]
    for topic, payload in hostile:
        central.publish_raw(topic, payload)
    central.publish_profile(jean_profile)
    assert wait_until(lambda: "C-000123" in edge.handler.profiles, 10.0)
    counters = edge.link.inbound_counters
    rejected = sum(v for k, v in counters.items() if k.endswith(".rejected"))
    assert rejected == len(hostile), counters
    assert counters["customers.rejected.vip"] == 1
    assert counters["customers.rejected.oversized"] == 1
    assert counters["catalog.rejected.price"] == 1
    assert edge.link.connected
    edge.outbox.emit(alert(1))  # and the edge still publishes
    assert central.wait_for(lambda c: c.checker.counts["unique"] == 1, 10)


def test_commands_reply_once_and_duplicates_do_not_run_again(
    pair: tuple[EdgeSync, CentralSimulator],
) -> None:
    edge, central = pair
    first = central.send_command("edge-1", "pairing.claim", {"kiosk": "k-1"}, command_id="cmd-1")
    assert central.wait_for(lambda c: first in c.replies, 10)
    assert central.replies[first]["status"] == "ok"
    del central.replies[first]
    central.send_command("edge-1", "pairing.claim", {"kiosk": "k-1"}, command_id="cmd-1")
    assert central.wait_for(lambda c: first in c.replies, 10)  # the stored reply again
    assert len(edge.handler.commands) == 1
    late = central.send_command("edge-1", "pairing.claim", {}, expires_in=-1)
    assert central.wait_for(lambda c: late in c.replies, 10)
    assert central.replies[late]["status"] == "expired"
    assert len(edge.handler.commands) == 1
    new = central.send_command("edge-1", "config.set", {"version": 2, "settings": {"a": 1}})
    old = central.send_command("edge-1", "config.set", {"version": 1, "settings": {"a": 0}})
    assert central.wait_for(lambda c: new in c.replies and old in c.replies, 10)
    assert (central.replies[old]["status"], central.replies[old]["reason"]) == ("rejected", "stale")
    assert edge.cache.config() == (2, {"a": 1})


@pytest.fixture
def denying_broker(tmp_path: Path) -> Iterator[int]:
    """mosquitto that lets anyone connect but refuses publishes on event topics."""
    binary = find_mosquitto()
    assert binary
    port = free_port()
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite storeedge/v1/+/+/status\n", encoding="utf-8")
    conf = tmp_path / "deny.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nacl_file {acl}\n"
        + ("user root\n" if os.geteuid() == 0 else ""),
        encoding="utf-8",
    )
    proc = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        assert wait_for_port("127.0.0.1", port, 10)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


def test_a_refused_puback_keeps_the_row(
    denying_broker: int, make_settings: Callable[..., Settings]
) -> None:
    edge = EdgeSync(fast(make_settings(port=denying_broker))).start()
    try:
        assert wait_until(lambda: edge.link.connected, 10.0)
        edge.outbox.emit(alert(1))
        assert wait_until(
            lambda: any(k.startswith("puback_failed") for k in edge.link.counters), 10.0
        )
        assert edge.outbox.pending() == 1  # not deleted: the broker did not take it
        assert edge.link.counters["acked"] == 0
    finally:
        edge.stop()


def test_backoff_is_capped_and_jittered(
    mosquitto: PrivateMosquitto, make_settings: Callable[..., Settings]
) -> None:
    edge = EdgeSync(fast(make_settings(port=mosquitto.port)), backoff_min_s=0.5, backoff_max_s=8)
    try:
        delays = [edge.link._next_backoff() for _ in range(40)]
        assert all(0.25 <= d <= 8 for d in delays)
        assert max(delays[10:]) > 4  # it grew to the cap
        assert len({round(d, 3) for d in delays}) > 30  # and is spread, not in step
    finally:
        edge.stop()
