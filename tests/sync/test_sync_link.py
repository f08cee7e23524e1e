"""The link against a real mosquitto: events up at QoS 1, profiles and erasures down."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from polling import wait_until as _eventually
from synckit import EdgeSync, alert, arrival, fast

from storeedge.adapters.broker import PrivateMosquitto
from storeedge.config import Settings
from storeedge.simulators.central import CentralSimulator


@pytest.fixture
def central(mosquitto: PrivateMosquitto) -> Iterator[CentralSimulator]:
    sim = CentralSimulator(mosquitto.host, mosquitto.port, "store-042")
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def edge(mosquitto: PrivateMosquitto, make_settings: Callable[..., Settings]) -> Iterator[EdgeSync]:
    sync = EdgeSync(fast(make_settings(port=mosquitto.port))).start()
    yield sync
    sync.stop()


def test_events_reach_central_once_in_order_and_leave_the_outbox(
    edge: EdgeSync, central: CentralSimulator
) -> None:
    for n in range(200):
        edge.outbox.emit(arrival(n))
    assert central.wait_for(lambda c: c.checker.counts["unique"] >= 200, 20)
    report = central.summary()
    assert report["lost"] == 0
    assert report.get("invalid", 0) == 0
    assert report.get("duplicates_different_bytes", 0) == 0
    first = central.events[0]
    assert first.topic == "storeedge/v1/store-042/edge-1/events/customer.arrived"
    assert first.event["sequence"] == "00000000000000000001"
    props = dict(first.user_properties)
    assert props["id"] == first.event["id"]
    assert props["sequence"] == first.event["sequence"]
    assert props["source"] == "/stores/store-042/edges/edge-1"
    assert [int(e.event["sequence"]) for e in central.events] == list(range(1, 201))
    assert _eventually(lambda: edge.outbox.pending() == 0)


def test_critical_lane_overtakes_a_presence_backlog(
    mosquitto: PrivateMosquitto, make_settings: Callable[..., Settings], central: CentralSimulator
) -> None:
    sync = EdgeSync(fast(make_settings(port=mosquitto.port)))
    try:
        for n in range(300):
            sync.outbox.emit(arrival(n))
        sync.outbox.emit(alert(1))
        assert sync.outbox.flush()
        sync.start()
        assert central.wait_for(lambda c: c.checker.counts["unique"] >= 301, 20)
        types = [e.event["type"] for e in central.events]
        assert types.index("storeedge.alert.raised") < 64  # within the first window
        assert central.summary()["lost"] == 0
    finally:
        sync.stop()


def test_status_online_then_offline(
    mosquitto: PrivateMosquitto, make_settings: Callable[..., Settings], central: CentralSimulator
) -> None:
    sync = EdgeSync(fast(make_settings(port=mosquitto.port))).start()
    assert central.wait_for(lambda c: c.status.get("edge-1", {}).get("state") == "online", 10)
    assert central.status["edge-1"]["boot_id"] == "boot-1"
    sync.stop()
    assert central.wait_for(lambda c: c.status.get("edge-1", {}).get("state") == "offline", 10)


def test_profiles_apply_and_erasure_forgets(
    edge: EdgeSync, central: CentralSimulator, jean_profile: dict[str, Any]
) -> None:
    assert _eventually(lambda: edge.link.connected)
    central.publish_profile(jean_profile)
    assert _eventually(lambda: "C-000123" in edge.handler.profiles)
    assert [p.customer_id for p in edge.cache.profiles()] == ["C-000123"]
    central.erase_profile("C-000123")
    assert _eventually(lambda: edge.handler.erased == ["C-000123"], 1.5)
    assert edge.cache.profiles() == []
