"""The fields of one advertisement record (CONTRACTS section 1), checked hostile.

:func:`record_from_json` turns one decoded JSON object into an :class:`AdvertRecord`
or raises :class:`MalformedError` with a short, countable reason; the field checks
are shared with :mod:`storeedge.core.records`' fast path. Pure: no file access.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from storeedge.core.ports import AdvertRecord

MAX_LINE: Final = 64 * 1024
MAX_ENTRIES: Final = 32  # AD structures in one advertisement: far fewer in practice
MAX_PAYLOAD_HEX: Final = 2 * 255  # an extended advertisement's data is at most 255 bytes
MAX_TEXT: Final = 248
MAX_BACKWARDS_S: Final = 5.0


class MalformedError(ValueError):
    """Why a line is not a record (a short, countable reason)."""


MAX_T: Final = 1e11  # NB: finite as a float and far beyond any capture (year 5138)
_HEX_CACHE_MAX = 65_536


class _HexCache:
    """Decoded payloads by their hex text: a recording repeats each payload many times.

    NB: only text that decoded cleanly is cached, so a hit is exactly what
    :func:`bytes.fromhex` would return; the cache is cleared when it grows too big.
    """

    def __init__(self) -> None:
        self._cache: dict[str, bytes] = {}

    def decode(self, value: object, reason: str) -> bytes:
        if type(value) is not str:
            raise MalformedError(reason)
        hit = self._cache.get(value)
        if hit is not None:
            return hit
        if len(value) > MAX_PAYLOAD_HEX or not value.isascii():
            raise MalformedError(reason)
        try:
            decoded = bytes.fromhex(value)
        except ValueError:
            raise MalformedError(reason) from None
        if len(self._cache) >= _HEX_CACHE_MAX:
            self._cache.clear()
        self._cache[value] = decoded
        return decoded


_HEX = _HexCache()


def _text(value: object, reason: str) -> str:
    if type(value) is not str or not 0 < len(value) <= MAX_TEXT:
        raise MalformedError(reason)
    return value


_MAPS_MAX = 65_536
_manufacturer_maps: dict[tuple[str, str], dict[int, bytes]] = {}
_service_maps: dict[tuple[str, str], dict[str, bytes]] = {}


def manufacturer_field(value: object) -> dict[int, bytes]:
    if not value:
        if value is None or value == {}:
            return {}
        raise MalformedError("manufacturer_data")
    if type(value) is not dict or len(value) > MAX_ENTRIES:
        raise MalformedError("manufacturer_data")
    if len(value) == 1:
        # NB: one entry is the usual case, and its (company, hex) pair repeats for every
        # advertisement of a device: the validated map is shared (records never mutate it).
        ((key, payload),) = value.items()
        if type(payload) is str:
            hit = _manufacturer_maps.get((key, payload))
            if hit is not None:
                return hit
            out = _manufacturer_entries(value)
            if len(_manufacturer_maps) >= _MAPS_MAX:
                _manufacturer_maps.clear()
            _manufacturer_maps[(key, payload)] = out
            return out
    return _manufacturer_entries(value)


def _manufacturer_entries(value: dict[str, object]) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    for key, payload in value.items():
        if not (len(key) <= 5 and key.isascii() and key.isdigit()) or int(key) > 0xFFFF:
            raise MalformedError("manufacturer_data")
        out[int(key)] = _HEX.decode(payload, "manufacturer_data")
    return out


def service_field(value: object) -> dict[str, bytes]:
    if not value:
        if value is None or value == {}:
            return {}
        raise MalformedError("service_data")
    if type(value) is not dict or len(value) > MAX_ENTRIES:
        raise MalformedError("service_data")
    if len(value) == 1:
        ((key, payload),) = value.items()  # NB: shared like manufacturer maps above
        if type(payload) is str:
            hit = _service_maps.get((key, payload))
            if hit is not None:
                return hit
            out = _service_entries(value)
            if len(_service_maps) >= _MAPS_MAX:
                _service_maps.clear()
            _service_maps[(key, payload)] = out
            return out
    return _service_entries(value)


def _service_entries(value: dict[str, object]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for key, payload in value.items():
        if len(key) != 36 or not key.isascii():
            raise MalformedError("service_data")
        out[key.lower()] = _HEX.decode(payload, "service_data")
    return out


def uuids_field(value: object) -> tuple[str, ...]:
    if not value:
        if value is None or value == []:
            return ()
        raise MalformedError("service_uuids")
    if type(value) is not list or len(value) > MAX_ENTRIES:
        raise MalformedError("service_uuids")
    for item in value:
        if type(item) is not str or len(item) > 36:
            raise MalformedError("service_uuids")
    return tuple(value)


def record_from_json(raw: Mapping[str, Any]) -> AdvertRecord:
    """One decoded JSON object -> a record, or :class:`MalformedError` with the reason.

    NB: this runs once per line of a replay, so checks use ``type(x) is`` (which also
    keeps ``True`` out of integer fields) rather than chains of ``isinstance``.
    """
    get = raw.get
    t: Any = get("t")  # NB: checked right below, by exact type
    kind = type(t)
    if not ((kind is float or kind is int) and 0 <= t <= MAX_T):  # NB: NaN fails both
        raise MalformedError("t")
    rssi = get("rssi")
    if type(rssi) is not int or not -127 <= rssi <= 20:
        raise MalformedError("rssi")
    tx_power = get("tx_power")
    if tx_power is not None and (type(tx_power) is not int or not -127 <= tx_power <= 127):
        raise MalformedError("tx_power")
    scanner = get("scanner")
    if type(scanner) is not str or not 0 < len(scanner) <= MAX_TEXT:
        raise MalformedError("scanner")
    address = get("address")
    if type(address) is not str or not 0 < len(address) <= MAX_TEXT:
        raise MalformedError("address")
    name = get("local_name")
    return AdvertRecord(
        float(t),
        scanner,
        address,
        rssi,
        tx_power,
        None if name is None else _text(name, "local_name"),
        manufacturer_field(get("manufacturer_data")),
        service_field(get("service_data")),
        uuids_field(get("service_uuids")),
    )
