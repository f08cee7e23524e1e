"""Devices that resolve to no consenting member: counted for footfall, then forgotten.

The store's own beacons (Eddystone UID and TLM) are watched here too: their
telemetry becomes ``beacon.telemetry`` events and their trouble a ``beacon`` alert.
Nothing about a phone that is not a consenting member outlives the footfall window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from storeedge.core.adverts import (
    APPLE_COMPANY_ID,
    EDDYSTONE_UUID,
    FRAME_EID,
    FRAME_TLM,
    FRAME_UID,
    EddystoneTlm,
    EddystoneUid,
    parse_eddystone,
    parse_ibeacon,
)
from storeedge.core.beacons import BeaconProblem, BeaconWatch
from storeedge.core.events import JSON, Event, EventFactory
from storeedge.core.footfall import ENTRANCE_DBM, INSIDE_DBM, Footfall
from storeedge.core.ports import AdvertRecord
from storeedge.core.settings import ScannerSettings

_WATCHED_FRAMES = (bytes([FRAME_UID]), bytes([FRAME_TLM]))
_UID_CACHE_MAX = 1_024


def _int8(value: int) -> int:
    return value - 256 if value > 127 else value


def tx_at_0m(record: AdvertRecord) -> float | None:
    """The calibrated Tx power the frame advertises, as dBm at 0 m (None if unknown)."""
    eddystone = record.service_data.get(EDDYSTONE_UUID)
    if isinstance(eddystone, bytes) and len(eddystone) >= 2 and eddystone[0] == FRAME_EID:
        power = eddystone[1]  # NB: _int8, inline: every member's reading comes this way
        return float(power - 256 if power > 127 else power)
    apple = record.manufacturer_data.get(APPLE_COMPANY_ID)
    if isinstance(apple, bytes) and len(apple) == 23 and apple[:2] == b"\x02\x15":
        return float(_int8(apple[22]) + 41)  # NB: iBeacon power is at 1 m; 0 m is ~41 dB more
    return None


class AnonymousTraffic:
    def __init__(
        self,
        footfall: Footfall,
        beacons: BeaconWatch,
        events: EventFactory,
        counters: Counter[str],
        emit: Callable[[Event], None],
        alert: Callable[[BeaconProblem, float], None],
    ) -> None:
        self._count = footfall.observe
        self._beacons = beacons
        self._events = events
        self._counters = counters
        self._emit = emit
        self._alert = alert
        # NB: a UID payload -> its beacon id: the same few store beacons repeat all day
        # (ids of beacons heard are kept by BeaconWatch anyway; bounded, cleared when full)
        self._uid_ids: dict[bytes, str] = {}

    def observe(self, record: AdvertRecord, scanner: ScannerSettings, now: float) -> None:
        level = record.rssi + scanner.rssi_offset_db
        entrance = scanner.role == "entrance"
        # NB: Footfall's own floor, checked here first: most devices heard are too far to count
        if level >= (ENTRANCE_DBM if entrance else INSIDE_DBM):
            self._count(record.address, level, entrance, now)
        service = record.service_data
        if service:
            payload = service.get(EDDYSTONE_UUID)
            if payload is not None and not (
                isinstance(payload, bytes) and len(payload) == 10 and payload[0] == FRAME_EID
            ):
                self._store_beacon(record, payload, scanner, now)
        manufacturer = record.manufacturer_data
        if manufacturer:
            apple = manufacturer.get(APPLE_COMPANY_ID)
            # NB: other Apple types are not ours; a well-formed iBeacon counts nothing
            if (
                isinstance(apple, bytes)
                and apple
                and apple[0] == 0x02
                and not (len(apple) == 23 and apple[1] == 0x15)
            ):
                parse_ibeacon(apple, self._counters)  # for the malformed-frame counts

    def _store_beacon(
        self, record: AdvertRecord, payload: object, scanner: ScannerSettings, now: float
    ) -> None:
        if type(payload) is bytes:
            beacon_id = self._uid_ids.get(payload)
            if beacon_id is not None:
                self._beacons.on_uid(record.address, beacon_id, scanner.zone, now)
                return
        if isinstance(payload, bytes) and payload[:1] not in _WATCHED_FRAMES:
            parse_eddystone(payload, self._counters)
            return
        frame = parse_eddystone(payload, self._counters)
        if isinstance(frame, EddystoneUid):
            beacon_id = frame.beacon_id
            if type(payload) is bytes:  # NB: a well-formed UID frame counts nothing
                if len(self._uid_ids) >= _UID_CACHE_MAX:
                    self._uid_ids.clear()
                self._uid_ids[payload] = beacon_id
            self._beacons.on_uid(record.address, beacon_id, scanner.zone, now)
        elif isinstance(frame, EddystoneTlm):
            telemetry, problem = self._beacons.on_tlm(record.address, frame, scanner.zone, now)
            if telemetry is not None:
                data: dict[str, JSON] = {
                    "beacon_id": telemetry.beacon_id,
                    "battery_mv": telemetry.battery_mv,
                    "temperature_c": telemetry.temperature_c,
                    "zone": telemetry.zone,
                }
                self._emit(self._events.make("storeedge.beacon.telemetry", data, now))
            if problem is not None:
                self._alert(problem, now)
