"""The resolver: current window and neighbours only, consent at ingest, address cache."""

from __future__ import annotations

import copy
from typing import Any

from storeedge.adapters.crypto import aes128_ecb
from storeedge.core.adverts import APPLE_COMPANY_ID, EDDYSTONE_UUID
from storeedge.core.eid import beacon_time, compute_eid
from storeedge.core.ports import AdvertRecord
from storeedge.core.profiles import CustomerProfile, EidKey, parse_profile
from storeedge.core.recognition import Recognizer

from .conftest import T0

ADDRESS = "4A:11:22:33:44:55"


def _key(profile: CustomerProfile) -> EidKey:
    assert isinstance(profile.ble, EidKey)
    return profile.ble


def _eid_record(
    key: EidKey, broadcast_at: float, heard_at: float, address: str = ADDRESS
) -> AdvertRecord:
    ts = beacon_time(broadcast_at, key.clock_offset)
    eid = compute_eid(aes128_ecb, key.identity_key, key.rotation_exponent, ts)
    return AdvertRecord(
        heard_at, "entrance", address, -60, service_data={EDDYSTONE_UUID: b"\x30\xeb" + eid}
    )


def _recognizer(*profiles: CustomerProfile, now: float = T0) -> Recognizer:
    r = Recognizer(aes128_ecb)
    r.load(profiles, now)
    return r


def test_resolves_current_and_neighbouring_windows_only(jean_profile: dict[str, Any]) -> None:
    jean = parse_profile(jean_profile)
    r = _recognizer(jean)
    step = 1 << _key(jean).rotation_exponent
    for offset in (-step, 0, step):
        assert r.resolve(_eid_record(_key(jean), T0 + offset, T0), T0) == "C-000123"
    for offset in (-2 * step, 2 * step):
        assert r.resolve(_eid_record(_key(jean), T0 + offset, T0, "4A:00:00:00:00:09"), T0) is None


def test_a_late_refresh_still_refuses_an_eid_two_windows_old(jean_profile: dict[str, Any]) -> None:
    jean = parse_profile(jean_profile)
    r = _recognizer(jean)
    step = 1 << _key(jean).rotation_exponent
    later = T0 + step + 1  # one window on, before maintain() ran
    old = _eid_record(_key(jean), T0 - step, later, "4A:00:00:00:00:08")
    assert r.resolve(old, later) is None
    assert r.counters["recognition.eid_stale"] == 1


def test_table_follows_window_boundaries(jean_profile: dict[str, Any]) -> None:
    jean = parse_profile(jean_profile)
    r = _recognizer(jean)
    step = 1 << _key(jean).rotation_exponent
    far = T0 + 3 * step
    assert r.resolve(_eid_record(_key(jean), far, far), far) is None  # not in the table yet
    assert r.maintain(far) == 1
    assert r.resolve(_eid_record(_key(jean), far, far), far) == "C-000123"
    assert r.table_size == 3


def test_refresh_is_bounded_per_call() -> None:
    from storeedge.simulators.population import members

    profiles = [parse_profile(p) for p in members(50, seed=3)]
    r = Recognizer(aes128_ecb, refresh_budget=10)
    r.load(profiles, T0)
    later = T0 + 5000
    done = [r.maintain(later) for _ in range(6)]
    assert done[:5] == [10, 10, 10, 10, 10]
    assert done[5] == 0


def test_no_consent_or_expired_consent_is_never_resolved(jean_profile: dict[str, Any]) -> None:
    refused = copy.deepcopy(jean_profile)
    refused["consent"]["recognition"] = False
    expiring = copy.deepcopy(jean_profile)
    expiring["customer_id"] = "C-000124"
    expiring["ble"]["identity_key"] = "ff" * 16
    expiring["consent"]["expires_at"] = "2025-11-23T14:00:30.000Z"  # T0 + 30 s
    r = _recognizer(parse_profile(refused), parse_profile(expiring))
    assert r.resolve(_eid_record(_key(parse_profile(refused)), T0, T0), T0) is None
    exp_key = _key(parse_profile(expiring))
    assert r.resolve(_eid_record(exp_key, T0, T0, "4A:00:00:00:00:02"), T0) == "C-000124"
    assert r.resolve(_eid_record(exp_key, T0 + 31, T0 + 31, "4A:00:00:00:00:02"), T0 + 31) is None


def test_address_cache_attributes_other_frames_of_the_same_phone(
    jean_profile: dict[str, Any],
) -> None:
    jean = parse_profile(jean_profile)
    r = _recognizer(jean)
    assert r.resolve(_eid_record(_key(jean), T0, T0), T0) == "C-000123"
    tlm = AdvertRecord(
        T0 + 1, "floor", ADDRESS, -70, service_data={EDDYSTONE_UUID: b"\x20\x00" + bytes(12)}
    )
    assert r.resolve(tlm, T0 + 1) == "C-000123"
    stranger = AdvertRecord(T0 + 1, "floor", "4A:99:99:99:99:99", -70)
    assert r.resolve(stranger, T0 + 1) is None
    # Long unheard: the address is retired.
    r.maintain(T0 + 400)
    assert r.resolve(AdvertRecord(T0 + 400, "floor", ADDRESS, -70), T0 + 400) is None


def test_unknown_eid_from_a_cached_address_drops_the_cache(jean_profile: dict[str, Any]) -> None:
    jean = parse_profile(jean_profile)
    r = _recognizer(jean)
    r.resolve(_eid_record(_key(jean), T0, T0), T0)
    other = AdvertRecord(
        T0 + 1, "floor", ADDRESS, -70, service_data={EDDYSTONE_UUID: b"\x30\xeb" + bytes(8)}
    )
    assert r.resolve(other, T0 + 1) is None
    assert r.resolve(AdvertRecord(T0 + 2, "floor", ADDRESS, -70), T0 + 2) is None


def test_upsert_withdrawing_consent_and_erase(jean_profile: dict[str, Any]) -> None:
    jean = parse_profile(jean_profile)
    r = _recognizer(jean)
    assert r.resolve(_eid_record(_key(jean), T0, T0), T0) == "C-000123"
    withdrawn = copy.deepcopy(jean_profile)
    withdrawn["consent"]["recognition"] = False
    r.upsert(parse_profile(withdrawn), T0)
    assert r.resolve(_eid_record(_key(jean), T0, T0), T0) is None
    assert r.resolve(AdvertRecord(T0, "floor", ADDRESS, -70), T0) is None
    r.upsert(jean, T0)
    assert r.resolve(_eid_record(_key(jean), T0, T0), T0) == "C-000123"
    r.erase("C-000123")
    assert r.resolve(_eid_record(_key(jean), T0, T0), T0) is None
    assert r.table_size == 0


def test_ibeacon_tags_resolve_by_uuid_major_minor(jean_profile: dict[str, Any]) -> None:
    tagged = copy.deepcopy(jean_profile)
    tagged["ble"] = {
        "kind": "ibeacon",
        "uuid": "e2c56db5-dffb-48d2-b060-d0f5a71096e0",
        "major": 1,
        "minor": 2,
    }
    r = _recognizer(parse_profile(tagged))
    payload = (
        b"\x02\x15" + bytes.fromhex("e2c56db5dffb48d2b060d0f5a71096e0") + b"\x00\x01\x00\x02\xc5"
    )
    record = AdvertRecord(
        T0, "entrance", "C0:00:00:00:00:01", -60, manufacturer_data={APPLE_COMPANY_ID: payload}
    )
    assert r.resolve(record, T0) == "C-000123"
    wrong = payload[:-2] + b"\x03\xc5"
    record = AdvertRecord(
        T0, "entrance", "C0:00:00:00:00:02", -60, manufacturer_data={APPLE_COMPANY_ID: wrong}
    )
    assert r.resolve(record, T0) is None
