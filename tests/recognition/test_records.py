"""Record lines: exact writing, hostile reading with counted reasons, the `t` rules."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from storeedge.core.adverts import EDDYSTONE_UUID
from storeedge.core.ports import AdvertRecord
from storeedge.core.records import (
    MalformedError,
    RecordReader,
    canonical_record,
    record_from_json,
    record_to_json,
)

GOOD = {
    "t": 1763906709.125,
    "scanner": "entrance",
    "address": "6E:21:9A:0C:44:F1",
    "rssi": -67,
    "tx_power": None,
    "local_name": None,
    "manufacturer_data": {"76": "0215" + "00" * 21},
    "service_data": {EDDYSTONE_UUID: "30ee1c2a0102030405060708"},
    "service_uuids": [EDDYSTONE_UUID],
}


def _line(**changes: object) -> str:
    raw = dict(GOOD)
    raw.update(changes)
    return json.dumps(raw)


def test_a_good_line_round_trips() -> None:
    reader = RecordReader()
    record = reader.parse(_line())
    assert record == AdvertRecord(
        1763906709.125,
        "entrance",
        "6E:21:9A:0C:44:F1",
        -67,
        None,
        None,
        {76: bytes.fromhex("0215" + "00" * 21)},
        {EDDYSTONE_UUID: bytes.fromhex("30ee1c2a0102030405060708")},
        (EDDYSTONE_UUID,),
    )
    assert json.loads(record_to_json(record)) == GOOD
    assert reader.parse(record_to_json(record).encode()) == record


def test_missing_maps_and_scalars_are_allowed() -> None:
    reader = RecordReader()
    record = reader.parse('{"t": 1.5, "scanner": "s", "address": "a", "rssi": -50}')
    assert record is not None
    assert record.manufacturer_data == {}
    assert record.tx_power is None


def test_malformed_lines_are_counted_by_reason() -> None:
    reader = RecordReader()
    lines = [
        "not json",
        "[1, 2]",
        _line(t="soon"),
        _line(t=-1),
        '{"t": NaN, "scanner": "s", "address": "a", "rssi": -50}',
        _line(rssi=True),
        _line(rssi=-300),
        _line(scanner=""),
        _line(address=None),
        _line(manufacturer_data={"apple": "00"}),
        _line(manufacturer_data={"76": "zz"}),
        _line(manufacturer_data={"99999": "00"}),
        _line(service_data={EDDYSTONE_UUID: "0" * 1000}),
        _line(service_data=[1]),
        _line(service_uuids="feaa"),
        _line(tx_power=1000),
        "x" * 70_000,
    ]
    for line in lines:
        assert reader.parse(line) is None
    assert reader.malformed == len(lines)
    assert reader.counts["malformed.json"] == 1
    assert reader.counts["malformed.not_an_object"] == 1
    assert reader.counts["malformed.t"] == 3
    assert reader.counts["malformed.manufacturer_data"] == 3
    assert reader.counts["malformed.too_long"] == 1
    assert "records" not in reader.counts


def test_time_may_wobble_but_not_go_back_more_than_5_s() -> None:
    reader = RecordReader()
    assert reader.parse(_line(t=1000.0)) is not None
    assert reader.parse(_line(t=996.0)) is not None  # 4 s back: merged scanners, fine
    assert reader.parse(_line(t=994.0)) is None  # 6 s before the latest
    assert reader.counts["malformed.t_backwards"] == 1
    assert reader.parse(_line(t=1001.0)) is not None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(GOOD)), json_values, max_size=9))
def test_reader_never_raises_on_hostile_objects(raw: dict[str, object]) -> None:
    reader = RecordReader()
    record = reader.parse(json.dumps(raw))
    if record is not None:
        assert math.isfinite(record.t)
        assert record.t >= 0
        assert -127 <= record.rssi <= 20


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_reader_never_raises_on_random_bytes(data: bytes) -> None:
    RecordReader().parse(data)


def _general(line: str) -> AdvertRecord | None:
    try:
        raw = json.loads(line)
    except ValueError:
        return None
    try:
        return record_from_json(raw) if isinstance(raw, dict) else None
    except MalformedError:
        return None


canonical_values = {
    "t": st.floats(min_value=-10, max_value=2e11) | st.floats() | st.integers(-5, 10**12),
    "scanner": st.text(max_size=12),
    "address": st.text(max_size=12),
    "rssi": st.integers(-200, 200),
    "tx_power": st.none() | st.integers(-200, 200),
    "manufacturer_data": st.dictionaries(
        st.sampled_from(["76", "0", "65535", "65536", "x", "-1"]),
        st.sampled_from(["", "02", "0", "zz", "1005aa"]),
        max_size=2,
    ),
    "service_data": st.dictionaries(
        st.sampled_from([EDDYSTONE_UUID, EDDYSTONE_UUID.upper(), "short"]),
        st.sampled_from(["30ee1c2a0102030405060708", "3", "", "30e", "30EE01"]),
        max_size=2,
    ),
    "service_uuids": st.one_of(
        st.lists(st.text(max_size=40), max_size=2),
        st.lists(st.sampled_from([EDDYSTONE_UUID, EDDYSTONE_UUID.upper()]), max_size=2),
    ),
}


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.fixed_dictionaries(canonical_values))
def test_the_fast_path_agrees_with_the_general_path(raw: dict[str, object]) -> None:
    """Lines in record_to_json()'s exact shape: the fast path (or its refusal, which hands
    the line to the general path) gives exactly the general path's record."""
    line = json.dumps(dict(GOOD, **raw), separators=(", ", ": "))
    fast = canonical_record(line)
    if fast is not None:
        assert fast == _general(line)
    assert RecordReader().parse(line) == _general(line)


def test_the_fast_path_defers_whatever_it_is_unsure_of() -> None:
    good = record_to_json(RecordReader().parse(_line()) or AdvertRecord(0.0, "s", "a", 0))
    assert canonical_record(good) is not None
    assert canonical_record(good.encode() + b"\n") is not None
    tricky = [
        good.replace(', "service_uuids"', ', "t": -4.0, "service_uuids"'),  # last one wins
        good.replace('"entrance"', '"ent\\u0072ance"'),  # escapes: the JSON decoder's job
        good.replace('"rssi": -67', '"rssi": -67.0'),
        good.replace('"t": 1763906709.125', '"t": 1e400'),
        good + " trailing",
        good.replace('"service_uuids": [', '"service_uuids": [1, '),
    ]
    for line in tricky:
        assert canonical_record(line) is None
        assert RecordReader().parse(line) == _general(line)


def test_an_eddystone_frame_never_heard_before_reads_as_the_decoder_reads_it() -> None:
    """The tail of a new Eddystone frame (a stranger's fresh EID) skips the JSON decoder;
    what it reads, or refuses, is exactly what the general path makes of the line."""
    payloads = [f"30ee{n:016x}" for n in (0x5EED, 0xC0FFEE)] + ["30e", "30EE01", "00" * 256]
    for payload in payloads:
        for listed in (EDDYSTONE_UUID, EDDYSTONE_UUID.upper(), "short"):
            line = _line(manufacturer_data={}, service_data={EDDYSTONE_UUID: payload},
                         service_uuids=[listed])  # fmt: skip
            assert RecordReader().parse(line) == _general(line)
            assert RecordReader().parse(line) == _general(line)  # and once cached
    fresh = _line(manufacturer_data={}, service_data={EDDYSTONE_UUID: "30ee" + "7a" * 8})
    assert RecordReader().parse(fresh) is not None


def test_reading_a_stream_keeps_the_rules_and_counts_of_parsing_line_by_line() -> None:
    """RecordReader.read (replay's loop) and parse() accept, refuse and count alike,
    whatever form a line's numbers take (those the fast path leaves to the general one too)."""
    good = record_to_json(RecordReader().parse(_line()) or AdvertRecord(0.0, "s", "a", 0))
    variants = [
        good,
        good.replace('"t": 1763906709.125', '"t": 1763906709'),  # an int
        good.replace('"t": 1763906709.125', '"t": 1.763906709125e9'),  # an exponent
        good.replace('"t": 1763906709.125', '"t": 01763906709.5'),  # a leading zero: not JSON
        good.replace('"t": 1763906709.125', '"t": 1763906700.5'),  # 9 s back: refused
        good.replace('"rssi": -67', '"rssi": -067'),  # a leading zero: not JSON
        good.replace('"rssi": -67', '"rssi": -0'),
        good.replace('"rssi": -67', '"rssi": 21'),  # out of range
        good.replace('"t": 1763906709.125', '"t": 1763906709.5').replace("30ee", "30eb"),
        good.replace('"t": 1763906709.125', '"t": 1763906710.25'),
        "{not json",
    ]
    lines = [line.encode() + b"\n" for line in variants]
    one_by_one = RecordReader()
    parsed = [r for r in map(one_by_one.parse, lines) if r is not None]
    streamed = RecordReader()
    assert list(streamed.read(iter(lines))) == parsed
    assert streamed.counts == one_by_one.counts
    assert one_by_one.counts["malformed.json"] == 3
    assert one_by_one.counts["malformed.t_backwards"] == 1
    assert one_by_one.counts["malformed.rssi"] == 1
