"""Presence through the real pipeline: arrival, zones with hysteresis, departure timing."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storeedge.adapters.crypto import aes128_ecb
from storeedge.core.adverts import EDDYSTONE_UUID
from storeedge.core.clock import ManualClock
from storeedge.core.events import EVENT_TYPES
from storeedge.core.pipeline import Pipeline
from storeedge.core.ports import AdvertRecord, ListSink, NullUi
from storeedge.core.profiles import EidKey, parse_profile
from storeedge.core.screens import (
    AlertChanged,
    Greeting,
    MemberForgotten,
    MemberPresent,
    StaffSnapshot,
)
from storeedge.core.staff_messages import KpiFigures

from .conftest import T0, Rig, feed, silence


def _walk_in(rig: Rig, key: EidKey, hz: float = 4.0) -> None:
    feed(rig, key, "entrance", -54, 2.0, hz)


def test_walking_in_arrives_at_the_entrance_within_a_second(rig: Rig, jean_key: EidKey) -> None:
    feed(rig, jean_key, "entrance", -54, 1.0)
    assert rig.presence_events() == [("arrived", "entrance")]
    arrived = rig.sink.events[0]
    assert arrived.data["via"] == "ble"
    assert arrived.time - (rig.clock.now() - 1.0) <= 1.0
    assert set(EVENT_TYPES[arrived.type][0]) <= set(arrived.data)


def test_a_passer_by_heard_faintly_never_arrives(rig: Rig, jean_key: EidKey) -> None:
    feed(rig, jean_key, "entrance", -80, 60.0)
    feed(rig, jean_key, "floor", -90, 30.0)
    assert rig.presence_events() == []


def test_zone_changes_need_a_clear_lead_for_a_while(rig: Rig, jean_key: EidKey) -> None:
    _walk_in(rig, jean_key)
    feed(rig, jean_key, "floor", -60, 0.5)  # a moment: not yet a zone change
    assert rig.presence_events() == [("arrived", "entrance")]
    for _ in range(20):  # then clearly on the floor for 5 s
        feed(rig, jean_key, "floor", -58, 0.25)
        feed(rig, jean_key, "entrance", -80, 0.25)
    assert rig.presence_events()[-1] == ("zone_changed", "floor")
    changed = rig.sink.events[-1]
    assert changed.data["previous_zone"] == "entrance"


def test_kiosk_claims_only_a_member_standing_at_it(rig: Rig, jean_key: EidKey) -> None:
    _walk_in(rig, jean_key)
    for _ in range(20):  # heard by the kiosk from afar, strongest still the floor
        feed(rig, jean_key, "floor", -66, 0.25)
        feed(rig, jean_key, "kiosk", -78, 0.25)
    assert ("zone_changed", "kiosk") not in rig.presence_events()
    for _ in range(20):
        feed(rig, jean_key, "kiosk", -55, 0.25)
        feed(rig, jean_key, "floor", -75, 0.25)
    assert rig.presence_events()[-1] == ("zone_changed", "kiosk")
    assert Greeting("kiosk-1", "Jean", "fr") in rig.ui.messages


def test_departure_after_leaving_by_the_door_follows_the_advertising_rate(
    rig: Rig, jean_key: EidKey
) -> None:
    _walk_in(rig, jean_key, hz=10.0)
    feed(rig, jean_key, "floor", -62, 60.0, hz=10.0)  # browses
    feed(rig, jean_key, "entrance", -60, 3.0, hz=10.0)  # walks out past the entrance
    left = rig.clock.now()
    silence(rig, 60.0)
    departed = [e for e in rig.sink.events if e.type == "storeedge.customer.departed"]
    assert len(departed) == 1
    fast = departed[0].time - left
    assert 5.0 <= fast <= 20.0
    assert departed[0].data["dwell_s"] > 0


def test_a_1hz_phone_gets_a_longer_departure_timeout(rig: Rig, jean_key: EidKey) -> None:
    feed(rig, jean_key, "entrance", -54, 10.0, hz=1.0)
    feed(rig, jean_key, "floor", -62, 60.0, hz=1.0)  # browses
    feed(rig, jean_key, "entrance", -60, 4.0, hz=1.0)  # walks out past the entrance
    left = rig.clock.now()
    silence(rig, 120.0)
    departed = [e for e in rig.sink.events if e.type == "storeedge.customer.departed"]
    assert len(departed) == 1
    assert 18.0 <= departed[0].time - left <= 45.0


def test_signal_lost_deep_inside_waits_longer_than_at_the_door(rig: Rig, jean_key: EidKey) -> None:
    _walk_in(rig, jean_key)
    for _ in range(120):  # a minute of browsing far from the door
        feed(rig, jean_key, "floor", -58, 0.25)
        feed(rig, jean_key, "entrance", -85, 0.25)
    silence(rig, 35.0)  # behind a shelf, phone in a bag: not a departure yet
    assert "departed" not in [kind for kind, _ in rig.presence_events()]
    feed(rig, jean_key, "floor", -70, 5.0)  # heard again: the same visit goes on
    assert [kind for kind, _ in rig.presence_events()].count("arrived") == 1
    silence(rig, 200.0)
    assert [kind for kind, _ in rig.presence_events()].count("departed") == 1


def test_a_slow_phone_lost_deep_inside_is_given_longer(rig: Rig, jean_key: EidKey) -> None:
    # NB: 90 learned intervals, within 40..90 s: a 1 Hz phone's silence says less
    _walk_in(rig, jean_key, hz=1.0)
    feed(rig, jean_key, "floor", -58, 60.0, hz=1.0)
    feed(rig, jean_key, "entrance", -85, 1.0, hz=1.0)
    silence(rig, 70.0)  # 280 intervals of a 4 Hz phone, 70 of this one
    assert "departed" not in [kind for kind, _ in rig.presence_events()]
    silence(rig, 40.0)
    assert [kind for kind, _ in rig.presence_events()].count("departed") == 1


def test_a_store_that_loses_shoppers_only_briefly_lets_go_sooner(
    rig: Rig, jean_key: EidKey
) -> None:
    _walk_in(rig, jean_key)
    for _ in range(40):  # brief losses, still heard faintly: the store learns them
        feed(rig, jean_key, "floor", -58, 1.0)
        feed(rig, jean_key, "floor", -88, 6.0)
    feed(rig, jean_key, "floor", -58, 1.0)
    silence(rig, 45.0)  # 35 s was no departure before the store was known
    assert [kind for kind, _ in rig.presence_events()].count("departed") == 1


def test_a_phone_still_heard_faintly_deep_inside_has_not_left(rig: Rig, jean_key: EidKey) -> None:
    _walk_in(rig, jean_key)
    for _ in range(120):  # a minute of browsing far from the door
        feed(rig, jean_key, "floor", -58, 0.25)
        feed(rig, jean_key, "entrance", -85, 0.25)
    feed(rig, jean_key, "floor", -90, 150.0, hz=1.0)  # behind the back shelves, phone in a bag
    assert "departed" not in [kind for kind, _ in rig.presence_events()]
    silence(rig, 60.0)  # then nothing at all
    assert [kind for kind, _ in rig.presence_events()].count("departed") == 1


def test_address_rotation_keeps_one_visit(rig: Rig, jean_key: EidKey) -> None:
    _walk_in(rig, jean_key)
    feed(rig, jean_key, "floor", -60, 5.0, address="4A:00:00:00:00:01")
    feed(rig, jean_key, "floor", -60, 5.0, address="5B:00:00:00:00:02")
    silence(rig, 5.0)  # a short dropout
    feed(rig, jean_key, "floor", -60, 5.0, address="6C:00:00:00:00:03")
    kinds = [kind for kind, _ in rig.presence_events()]
    assert kinds.count("arrived") == 1
    assert "departed" not in kinds


def test_leaving_right_after_walking_in_is_not_taken_for_the_way_in(
    rig: Rig, jean_key: EidKey
) -> None:
    _walk_in(rig, jean_key)
    feed(rig, jean_key, "entrance", -60, 3.0)  # the door they came in by, a moment later
    silence(rig, 35.0)  # lost soon after arriving: behind a shelf, not necessarily gone
    assert "departed" not in [kind for kind, _ in rig.presence_events()]
    silence(rig, 60.0)  # ...but not for ever
    assert [kind for kind, _ in rig.presence_events()].count("departed") == 1


def test_coming_back_later_is_a_new_visit(rig: Rig, jean_key: EidKey) -> None:
    _walk_in(rig, jean_key)
    silence(rig, 300.0)
    _walk_in(rig, jean_key)
    silence(rig, 300.0)
    arrived = [e for e in rig.sink.events if e.type == "storeedge.customer.arrived"]
    departed = [e for e in rig.sink.events if e.type == "storeedge.customer.departed"]
    assert len(arrived) == len(departed) == 2
    assert arrived[0].data["visit_id"] != arrived[1].data["visit_id"]
    assert [d.data["visit_id"] for d in departed] == [a.data["visit_id"] for a in arrived]


def test_withdrawing_consent_closes_the_visit_and_stops_recognition(
    rig: Rig, jean_key: EidKey, jean_profile: dict[str, Any]
) -> None:
    _walk_in(rig, jean_key)
    withdrawn = copy.deepcopy(jean_profile)
    withdrawn["consent"]["recognition"] = False
    rig.pipeline.upsert_profile(parse_profile(withdrawn))
    assert rig.presence_events()[-1][0] == "departed"
    before = len(rig.sink.events)
    _walk_in(rig, jean_key)
    silence(rig, 100.0)
    assert len(rig.sink.events) == before


def test_erasure_forgets_without_events(rig: Rig, jean_key: EidKey) -> None:
    _walk_in(rig, jean_key)
    before = len(rig.sink.events)
    rig.pipeline.erase_customer("C-000123")
    assert MemberForgotten("C-000123") in rig.ui.messages
    _walk_in(rig, jean_key)
    silence(rig, 100.0)
    assert (
        len([e for e in rig.sink.events[before:] if e.type.startswith("storeedge.customer")]) == 0
    )


def test_staff_and_kiosk_signals_on_arrival(rig: Rig, jean_key: EidKey) -> None:
    _walk_in(rig, jean_key)
    kinds = {type(m) for m in rig.ui.messages}
    assert MemberPresent in kinds
    assert AlertChanged in kinds  # Jean has a click-and-collect order ready
    rig.pipeline.staff_sync("console-1")
    snapshot, figures = rig.ui.messages[-2:]  # NB: the day's staff figures follow it
    assert isinstance(snapshot, StaffSnapshot)
    assert isinstance(figures, KpiFigures)
    assert figures.connection == "console-1"
    assert snapshot.connection == "console-1"
    assert [m.customer_id for m in snapshot.members] == ["C-000123"]


_payloads = st.binary(max_size=30)
_records = st.builds(
    AdvertRecord,
    t=st.floats(min_value=0, max_value=600),
    scanner=st.sampled_from(["entrance", "floor", "kiosk", "nowhere"]),
    address=st.sampled_from(["4A:00:00:00:00:01", "4A:00:00:00:00:02", "C0:00:00:00:00:03"]),
    rssi=st.integers(min_value=-127, max_value=20),
    tx_power=st.none() | st.integers(min_value=-127, max_value=127),
    manufacturer_data=st.dictionaries(st.sampled_from([76, 6, 0xFFFF]), _payloads, max_size=2),
    service_data=st.dictionaries(
        st.sampled_from([EDDYSTONE_UUID, "0000fe9f-0000-1000-8000-00805f9b34fb"]),
        st.one_of(
            _payloads, st.builds(lambda b: b"\x30\xeb" + b, st.binary(min_size=8, max_size=8))
        ),
        max_size=2,
    ),
)


@settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # NB: each example builds anew
)
@given(st.lists(_records, max_size=40))
def test_hostile_adverts_never_raise_into_the_loop(
    make_settings: Any, jean_profile: dict[str, Any], records: list[AdvertRecord]
) -> None:
    clock = ManualClock(T0)
    pipeline = Pipeline(make_settings(), clock, ListSink(), NullUi(), aes128_ecb)
    pipeline.load_profiles([parse_profile(jean_profile)])
    for record in sorted(records, key=lambda r: r.t):
        clock.set(T0 + record.t)
        pipeline.on_advert(record)
        pipeline.tick()


def test_heard_weakly_all_around_the_store_is_still_inside(rig: Rig, jean_key: EidKey) -> None:
    """Below every "stay" level (phone in a bag, behind a shelf) but heard by three
    receivers several times a second: nobody on the pavement is heard like that."""
    _walk_in(rig, jean_key)
    for _ in range(60):
        feed(rig, jean_key, "entrance", -84, 0.25)
        feed(rig, jean_key, "floor", -85, 0.25)
        feed(rig, jean_key, "kiosk", -85, 0.25)
    assert "departed" not in [kind for kind, _ in rig.presence_events()]
    silence(rig, 120.0)  # NB: last seen deep inside, not at the door: the longer wait
    assert [kind for kind, _ in rig.presence_events()].count("departed") == 1


def test_the_door_just_come_in_by_is_not_a_way_out(rig: Rig, jean_key: EidKey) -> None:
    """Lost soon after walking in and on into the shop: wait as for anyone lost inside."""
    _walk_in(rig, jean_key)
    for _ in range(24):  # on into the shop, the floor scanner clearly strongest
        feed(rig, jean_key, "floor", -58, 0.25)
        feed(rig, jean_key, "entrance", -85, 0.25)
    assert rig.presence_events()[-1] == ("zone_changed", "floor")
    silence(rig, 35.0)  # half a minute unheard: behind a shelf, not gone by the door
    assert "departed" not in [kind for kind, _ in rig.presence_events()]
    silence(rig, 60.0)
    assert [kind for kind, _ in rig.presence_events()].count("departed") == 1


def test_a_visit_that_has_shown_long_silences_waits_longer_before_departing(
    rig: Rig, jean_key: EidKey
) -> None:
    # NB: a store whose back shelves hide shoppers for a minute at a time
    _walk_in(rig, jean_key)
    feed(rig, jean_key, "floor", -62, 30.0)
    silence(rig, 38.0)  # the first long silence: shorter than the unseen rule's least, 40 s
    feed(rig, jean_key, "floor", -62, 30.0)
    silence(rig, 100.0)  # would be a departure in a store that never loses anyone
    assert "departed" not in [kind for kind, _ in rig.presence_events()]
    feed(rig, jean_key, "floor", -62, 30.0)
    assert [kind for kind, _ in rig.presence_events()].count("arrived") == 1
    silence(rig, 350.0)  # three times the longest silence so far (100 s), and more
    assert [kind for kind, _ in rig.presence_events()].count("departed") == 1


def test_near_the_door_is_measured_on_the_phones_own_crossing(rig: Rig, jean_key: EidKey) -> None:
    # NB: a loud phone walked in at -50; browsing the front of the shop at -64 is far
    # quieter than its crossing, so being lost there is not having walked out
    feed(rig, jean_key, "entrance", -50, 2.0)
    feed(rig, jean_key, "floor", -62, 60.0)
    feed(rig, jean_key, "entrance", -64, 5.0)
    silence(rig, 35.0)
    assert "departed" not in [kind for kind, _ in rig.presence_events()]
    feed(rig, jean_key, "floor", -62, 30.0)
    feed(rig, jean_key, "entrance", -50, 2.0)  # out past the door, as loud as coming in
    silence(rig, 30.0)
    assert [kind for kind, _ in rig.presence_events()].count("departed") == 1
