"""Frame parsers: known frames parse, hostile bytes are rejected with a reason, never raise."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from storeedge.core.adverts import (
    EddystoneEid,
    EddystoneTlm,
    EddystoneUid,
    IBeacon,
    eid_payload,
    ibeacon_key,
    parse_eddystone,
    parse_frames,
    parse_ibeacon,
)

UUID = bytes.fromhex("e2c56db5dffb48d2b060d0f5a71096e0")


def test_ibeacon_parses_uuid_major_minor_and_power() -> None:
    payload = b"\x02\x15" + UUID + b"\x00\x2a\x01\x02" + b"\xc5"
    beacon = parse_ibeacon(payload, Counter())
    assert beacon == IBeacon(UUID, 42, 258, -59)
    assert beacon.uuid_text == "e2c56db5-dffb-48d2-b060-d0f5a71096e0"
    assert ibeacon_key(payload) == beacon.key


def test_other_apple_payloads_are_ignored_without_a_reject() -> None:
    rejects: Counter[str] = Counter()
    assert parse_ibeacon(b"\x10\x05\x01\x02\x03\x04\x05", rejects) is None
    assert not rejects


def test_truncated_ibeacon_is_rejected_with_a_reason() -> None:
    rejects: Counter[str] = Counter()
    assert parse_ibeacon(b"\x02\x15" + UUID, rejects) is None
    assert rejects == Counter({"ibeacon.length": 1})


def test_eddystone_eid_uid_and_tlm() -> None:
    rejects: Counter[str] = Counter()
    eid = parse_eddystone(b"\x30\xeb" + bytes(range(8)), rejects)
    assert eid == EddystoneEid(-21, bytes(range(8)))
    assert eid_payload(b"\x30\xeb" + bytes(range(8))) == bytes(range(8))
    uid = parse_eddystone(b"\x00\xeb" + bytes(10) + b"\x00\x00\x00\x00\x00\x07", rejects)
    assert isinstance(uid, EddystoneUid)
    assert uid.beacon_id.endswith("07")
    tlm = parse_eddystone(
        b"\x20\x00\x0b\xb8"
        + (-5 * 256).to_bytes(2, "big", signed=True)
        + bytes(4)
        + b"\x00\x00\x00\x64",
        rejects,
    )
    assert tlm == EddystoneTlm(3000, -5.0, 0, 10.0)
    assert not rejects


def test_tlm_without_temperature_and_encrypted_tlm() -> None:
    rejects: Counter[str] = Counter()
    tlm = parse_eddystone(b"\x20\x00\x00\x00\x80\x00" + bytes(8), rejects)
    assert tlm == EddystoneTlm(None, None, 0, 0.0)
    assert parse_eddystone(b"\x20\x01" + bytes(16), rejects) is None
    assert rejects == Counter({"eddystone.tlm_encrypted": 1})


def test_malformed_eddystone_frames_count_their_reason() -> None:
    rejects: Counter[str] = Counter()
    assert parse_eddystone(b"", rejects) is None
    assert parse_eddystone(b"\x30\xeb\x01", rejects) is None
    assert parse_eddystone(b"\x00\xeb\x01", rejects) is None
    assert parse_eddystone(b"\x20\x00\x01", rejects) is None
    assert parse_eddystone(b"\x20\x00\xff\xff" + bytes(10), rejects) is None
    assert parse_eddystone(b"\x77", rejects) is None
    assert parse_eddystone("30eb", rejects) is None
    assert parse_eddystone(b"\x10\x00https", rejects) is None  # URL: ignored, not an error
    assert rejects == Counter(
        {
            "eddystone.empty": 1,
            "eddystone.eid_length": 1,
            "eddystone.uid_length": 1,
            "eddystone.tlm_length": 1,
            "eddystone.tlm_battery": 1,
            "eddystone.frame_unknown": 1,
            "eddystone.type": 1,
        }
    )


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.binary(max_size=40))
def test_parsers_never_raise_on_random_bytes(data: bytes) -> None:
    rejects: Counter[str] = Counter()
    parse_eddystone(data, rejects)
    parse_ibeacon(data, rejects)
    eid_payload(data)
    ibeacon_key(data)
    parse_frames({76: data}, {"0000feaa-0000-1000-8000-00805f9b34fb": data}, rejects)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.sampled_from([0x00, 0x10, 0x20, 0x30]), st.binary(max_size=30))
def test_parsers_never_raise_on_framed_garbage(frame: int, tail: bytes) -> None:
    rejects: Counter[str] = Counter()
    result = parse_eddystone(bytes([frame]) + tail, rejects)
    assert result is None or isinstance(result, EddystoneEid | EddystoneUid | EddystoneTlm)
    parse_ibeacon(b"\x02\x15" + tail, rejects)
