"""Advertisement records as JSON Lines (CONTRACTS section 1), read hostile, written exact.

:class:`RecordReader` turns lines into :class:`AdvertRecord`s; a line that is not a
valid record is counted under a reason (``malformed.<reason>``) and skipped, never
raised. The ``t`` rule of CONTRACTS section 6: a ``t`` that is not finite, is
negative, or goes back more than 5 s from the previous accepted record is malformed.

This module is pure (no file access): :mod:`storeedge.recording` opens the files.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from storeedge.core.ports import AdvertRecord
from storeedge.core.record_fields import (
    MAX_BACKWARDS_S,
    MAX_LINE,
    MAX_T,
    MalformedError,
    manufacturer_field,
    record_from_json,
    service_field,
    uuids_field,
)

__all__ = [
    "MalformedError",
    "RecordReader",
    "canonical_record",
    "decode_line",
    "record_from_json",
    "record_to_json",
]

# NB: JSONDecoder sets scan_once (the C scanner) in __init__; typeshed does not declare it.
_SCAN: Callable[[str, int], tuple[object, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def decode_line(line: bytes | str) -> object:
    """JSON-decode one line; :class:`ValueError` when it is not JSON.

    NB: calls the standard library's C scanner directly: for lines this short,
    ``json.loads``'s Python wrapper (encoding sniffing, whitespace regexes) costs
    more than the decoding itself. Anything unusual goes through ``json.loads``.
    """
    if type(line) is bytes:
        text = line.decode("utf-8")
    elif isinstance(line, str):
        text = line
    else:
        text = bytes(line).decode("utf-8")
    if not text.startswith("{"):
        return json.loads(text)
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        raise ValueError("not JSON") from None
    size = len(text)
    if end == size or (end == size - 1 and text[end] == "\n") or text[end:].isspace():
        return value
    raise ValueError("extra data after the object")


# NB: the exact shape record_to_json() writes (and `storeedge record` produces). A line
# of that shape is read without building the JSON object: the six scalars come from the
# match (every pattern accepts only what the JSON decoder would decode to the same
# value), and the three maps, which repeat for every advertisement of a device, come
# from a cache of validated tails. Any other line, and any line the fast path has the
# least doubt about, goes through the general path, which counts the reason.
_STRING = r'"([^"\\\x00-\x1f]{1,248})"'
# The "t" pattern is the plain decimal record_to_json() writes for any time after 1970
# (a float's repr, so always with a point); ints, exponents and the rest take the
# general path: a narrower pattern cost the regex engine a fifth less per line. An rssi
# of the wrong form (leading zeros) is simply not in _RSSI.
_CANONICAL = re.compile(
    r'\{"t": ([1-9][0-9]*\.[0-9]+), '
    rf'"scanner": {_STRING}, "address": {_STRING}, '
    r'"rssi": (-?[0-9]{1,3}), "tx_power": (null|-?(?:0|[1-9][0-9]{0,2})), '
    r'"local_name": null, ("manufacturer_data": .*)\}\n?'
).fullmatch
# NB: the tail of an Eddystone frame never heard before (a stranger's rotating EID); plain
# hex and UUID characters only, so the groups are exactly the strings JSON would decode.
_EDDYSTONE_TAIL = re.compile(
    r'"manufacturer_data": \{\}, "service_data": \{"([0-9a-f-]{36})": "([0-9a-f]{2,510})"\}, '
    r'"service_uuids": \["([0-9a-f-]{36})"\]'
).fullmatch
# NB: every valid rssi as JSON writes it (no leading zeros; "-0" too): a lookup is
# cheaper than int(), and a value out of range or of another form is simply not found.
_RSSI: Final = {str(v): v for v in range(-127, 21)} | {"-0": 0}
_TAIL_KEYS: Final = frozenset(("manufacturer_data", "service_data", "service_uuids"))
_TAILS_MAX = 16_384
_Tail = tuple[dict[int, bytes], dict[str, bytes], tuple[str, ...]]
_tails: dict[str, _Tail] = {}


def _tail(text: str) -> _Tail | None:
    """The validated maps of a canonical line's last three fields, or None (general path)."""
    hit = _tails.get(text)
    if hit is not None:
        return hit
    simple = _EDDYSTONE_TAIL(text)
    tail: _Tail
    if simple is not None:
        # NB: what the JSON decoder and the validators below make of it, without them: the
        # pattern admits only lower-case UUIDs of the right length and hex of valid size.
        uuid, payload, listed = simple.groups()
        if len(payload) % 2:
            return None  # NB: odd hex: the general path counts it
        tail = ({}, {uuid: bytes.fromhex(payload)}, (listed,))
    else:
        try:
            raw = decode_line("{" + text + "}")
        except (ValueError, RecursionError):
            return None
        # NB: exactly these keys, so the fields matched before them are not overridden by
        # a duplicate key later in the line (JSON's last-one-wins).
        if type(raw) is not dict or raw.keys() != _TAIL_KEYS:
            return None
        try:
            tail = (
                manufacturer_field(raw["manufacturer_data"]),
                service_field(raw["service_data"]),
                uuids_field(raw["service_uuids"]),
            )
        except MalformedError:
            return None
    if len(_tails) >= _TAILS_MAX:
        _tails.clear()
    _tails[text] = tail
    return tail


def canonical_record(line: bytes | str) -> AdvertRecord | None:
    """A line in record_to_json()'s exact shape -> its record; None means "not sure":
    parse it with :func:`decode_line` and :func:`record_from_json` instead."""
    if type(line) is str:
        match = _CANONICAL(line)
    else:
        try:  # NB: inline, not a helper: this runs once per line of a replay
            match = _CANONICAL(line.decode("utf-8")) if type(line) is bytes else None
        except UnicodeDecodeError:
            return None
    if match is None:
        return None
    t_text, scanner, address, rssi_text, tx_text, tail_text = match.groups()
    t = float(t_text)
    rssi = _RSSI.get(rssi_text)
    if rssi is None or t > MAX_T:  # NB: t >= 1 by the pattern
        return None
    tx_power = None
    if tx_text != "null":
        tx_power = int(tx_text)
        if not -127 <= tx_power <= 127:
            return None
    tail = _tails.get(tail_text) or _tail(tail_text)
    if tail is None:
        return None
    return AdvertRecord(t, scanner, address, rssi, tx_power, None, tail[0], tail[1], tail[2])


class RecordReader:
    """Parses lines in order, enforcing the ``t`` rule; counts what it rejects."""

    def __init__(self) -> None:
        self._rejects: Counter[str] = Counter()
        self.records = 0
        self._last_t = -1.0

    @property
    def counts(self) -> Counter[str]:
        """``records`` accepted and ``malformed.<reason>`` for each rejection."""
        counts = Counter(self._rejects)
        if self.records:
            counts["records"] = self.records
        return counts

    def parse(self, line: bytes | str) -> AdvertRecord | None:
        if len(line) > MAX_LINE:
            self._rejects["malformed.too_long"] += 1
            return None
        record = canonical_record(line)
        if record is None:
            record = self._general(line)
            if record is None:
                return None
        t = record.t
        last = self._last_t
        if t > last:
            self._last_t = t
        elif t < last - MAX_BACKWARDS_S:
            self._rejects["malformed.t_backwards"] += 1
            return None
        self.records += 1
        return record

    def read(self, lines: Iterable[bytes | str]) -> Iterator[AdvertRecord]:
        """:meth:`parse` over ``lines``, yielding the accepted records (a replay's loop).

        NB: the same rules as :meth:`parse`, inline: one generator step per line costs
        less than a method call per line; the counts are settled when the loop ends.
        """
        rejects, canonical, general = self._rejects, canonical_record, self._general
        last, accepted = self._last_t, 0
        try:
            for line in lines:
                if len(line) > MAX_LINE:
                    rejects["malformed.too_long"] += 1
                    continue
                record = canonical(line) or general(line)  # NB: a record is always truthy
                if record is None:
                    continue
                t = record.t
                if t > last:
                    last = t
                elif t < last - MAX_BACKWARDS_S:
                    rejects["malformed.t_backwards"] += 1
                    continue
                accepted += 1
                yield record
        finally:
            self.records += accepted
            self._last_t = last

    def _general(self, line: bytes | str) -> AdvertRecord | None:
        try:
            raw = decode_line(line)
        except (ValueError, RecursionError):
            self._rejects["malformed.json"] += 1
            return None
        if type(raw) is not dict:
            self._rejects["malformed.not_an_object"] += 1
            return None
        try:
            return record_from_json(raw)
        except MalformedError as exc:
            self._rejects[f"malformed.{exc}"] += 1
            return None

    @property
    def malformed(self) -> int:
        return sum(self._rejects.values())


def record_to_json(record: AdvertRecord) -> str:
    """One line (without the newline), keys in the order of CONTRACTS section 1."""
    return json.dumps(
        {
            "t": round(record.t, 6),
            "scanner": record.scanner,
            "address": record.address,
            "rssi": record.rssi,
            "tx_power": record.tx_power,
            "local_name": record.local_name,
            "manufacturer_data": {str(k): v.hex() for k, v in record.manufacturer_data.items()},
            "service_data": {k: v.hex() for k, v in record.service_data.items()},
            "service_uuids": list(record.service_uuids),
        },
        ensure_ascii=False,
        separators=(", ", ": "),
        allow_nan=False,
    )
