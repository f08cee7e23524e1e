"""Anonymous footfall windows, and store beacon telemetry and technician alerts."""

from __future__ import annotations

from storeedge.adapters.crypto import aes128_ecb
from storeedge.core.adverts import EDDYSTONE_UUID, EddystoneTlm
from storeedge.core.beacons import BeaconWatch
from storeedge.core.footfall import Footfall
from storeedge.core.pipeline import Pipeline
from storeedge.core.ports import AdvertRecord
from storeedge.core.screens import AlertChanged

from .conftest import Rig, silence


def test_footfall_counts_distinct_devices_per_window_and_forgets_them() -> None:
    footfall = Footfall(window_s=60.0)
    footfall.observe("AA", -60, entrance=False, now=120.0)
    footfall.observe("AA", -60, entrance=False, now=121.0)
    footfall.observe("BB", -70, entrance=True, now=122.0)  # too far from the entrance
    footfall.observe("CC", -62, entrance=True, now=130.0)
    assert footfall.roll(150.0) is None
    count = footfall.roll(181.0)
    assert count is not None
    assert (count.window_start, count.window_s, count.visitors) == (120.0, 60.0, 2)
    assert "AA" not in repr(vars(footfall))
    next_count = footfall.roll(241.0)
    assert next_count is not None
    assert next_count.visitors == 0


def test_pipeline_emits_footfall_without_identifiers(rig: Rig) -> None:
    for n in range(5):
        address = f"4A:00:00:00:00:{n:02X}"
        rig.pipeline.on_advert(AdvertRecord(rig.clock.now(), "floor", address, -60))
    silence(rig, 301.0)
    counts = [e for e in rig.sink.events if e.type == "storeedge.footfall.counted"]
    assert [c.data["visitors"] for c in counts] == [5]
    assert set(counts[0].data) == {"window_start", "window_s", "visitors"}
    assert counts[0].data["window_start"].endswith("Z")


def _uid(n: int) -> bytes:
    return b"\x00\xeb" + bytes(10) + n.to_bytes(6, "big")


def _tlm(battery_mv: int) -> bytes:
    return b"\x20\x00" + battery_mv.to_bytes(2, "big") + b"\x15\x80" + bytes(8)


def test_store_beacon_telemetry_and_low_battery_alert(rig: Rig) -> None:
    beacon = "C0:FF:EE:00:00:01"
    now = rig.clock.now()
    catalog = ((bytes(10) + (1).to_bytes(6, "big")).hex(),)
    rig.pipeline = Pipeline(
        rig.settings, rig.clock, rig.sink, rig.ui, aes128_ecb, beacon_catalog=catalog
    )
    rig.pipeline.on_advert(
        AdvertRecord(now, "floor", beacon, -70, service_data={EDDYSTONE_UUID: _uid(1)})
    )
    rig.pipeline.on_advert(
        AdvertRecord(now, "floor", beacon, -70, service_data={EDDYSTONE_UUID: _tlm(2300)})
    )
    rig.pipeline.on_advert(
        AdvertRecord(now + 1, "floor", beacon, -70, service_data={EDDYSTONE_UUID: _tlm(2300)})
    )
    telemetry = [e for e in rig.sink.events if e.type == "storeedge.beacon.telemetry"]
    assert len(telemetry) == 1  # rate-limited
    assert telemetry[0].data["battery_mv"] == 2300
    assert telemetry[0].data["temperature_c"] == 21.5
    alerts = [e for e in rig.sink.events if e.type == "storeedge.alert.raised"]
    assert [(a.data["kind"], a.data["customer_id"], a.data["zone"]) for a in alerts] == [
        ("beacon", None, "floor")
    ]
    assert any(
        isinstance(m, AlertChanged) and dict(m.alert.details).get("problem") == "low_battery"
        for m in rig.ui.messages
    )


def test_silent_installed_beacon_raises_one_alert() -> None:
    watch = BeaconWatch(silent_s=600.0, learn_s=300.0)
    watch.on_uid("C0:00:00:00:00:02", "b2", "floor", 0.0)
    watch.on_uid("C0:00:00:00:00:02", "b2", "floor", 400.0)  # heard long enough: installed
    watch.on_uid("C0:00:00:00:00:03", "tag", "entrance", 10.0)  # a tag passing by
    assert watch.check(500.0) == []
    problems = watch.check(1100.0)
    assert [(p.beacon_id, p.problem) for p in problems] == [("b2", "silent")]
    assert watch.check(1200.0) == []  # one alert per problem
    assert watch.beacons() == ["b2"]  # the passing tag is forgotten


def test_tlm_from_an_unbound_address_is_ignored() -> None:
    watch = BeaconWatch()
    telemetry, problem = watch.on_tlm(
        "C0:00:00:00:00:09", EddystoneTlm(2000, 20.0, 1, 1.0), "floor", 0.0
    )
    assert telemetry is None
    assert problem is None
