"""Advertisement -> consenting member, or nobody (then it only counts as footfall).

Interim version for the walking skeleton: Eddystone-EID and iBeacon lookups in
a table rebuilt at window boundaries. The recognition issue deepens it.
"""

from __future__ import annotations

from collections.abc import Iterable

from storeedge.core.eid import beacon_time, compute_eid
from storeedge.core.ports import AdvertRecord, Aes128
from storeedge.core.profiles import CustomerProfile, EidKey, IBeaconTag

EDDYSTONE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"
APPLE_COMPANY_ID = 76


def eid_of(record: AdvertRecord) -> bytes | None:
    payload = record.service_data.get(EDDYSTONE_UUID)
    if payload is None or len(payload) < 10 or payload[0] != 0x30:
        return None
    return bytes(payload[2:10])


def ibeacon_of(record: AdvertRecord) -> tuple[str, int, int] | None:
    payload = record.manufacturer_data.get(APPLE_COMPANY_ID)
    if payload is None or len(payload) < 22 or payload[0] != 0x02 or payload[1] != 0x15:
        return None
    u = payload[2:18].hex()
    uuid = f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"
    return uuid, int.from_bytes(payload[18:20], "big"), int.from_bytes(payload[20:22], "big")


class Recognizer:
    """Resolves advertisements to customer ids, for consenting members only."""

    def __init__(self, aes: Aes128) -> None:
        self._aes = aes
        self._profiles: dict[str, CustomerProfile] = {}
        self._eids: dict[bytes, str] = {}
        self._tags: dict[tuple[str, int, int], str] = {}
        self._built_for: int | None = None

    def load(self, profiles: Iterable[CustomerProfile], now: float) -> None:
        self._profiles = {p.customer_id: p for p in profiles}
        self._rebuild(now)

    def upsert(self, profile: CustomerProfile, now: float) -> None:
        self._profiles[profile.customer_id] = profile
        self._rebuild(now)

    def erase(self, customer_id: str, now: float) -> None:
        self._profiles.pop(customer_id, None)
        self._rebuild(now)

    def _rebuild(self, now: float) -> None:
        eids: dict[bytes, str] = {}
        tags: dict[tuple[str, int, int], str] = {}
        for profile in self._profiles.values():
            if not profile.consent.current(now):
                continue
            if isinstance(profile.ble, EidKey):
                key = profile.ble
                ts = beacon_time(now, key.clock_offset)
                step = 1 << key.rotation_exponent
                for window in (ts - step, ts, ts + step):
                    eid = compute_eid(self._aes, key.identity_key, key.rotation_exponent, window)
                    eids[eid] = profile.customer_id
            elif isinstance(profile.ble, IBeaconTag):
                tags[(profile.ble.uuid, profile.ble.major, profile.ble.minor)] = profile.customer_id
        self._eids, self._tags = eids, tags
        self._built_for = int(now) >> 4

    def resolve(self, record: AdvertRecord) -> str | None:
        if self._built_for != int(record.t) >> 4:
            self._rebuild(record.t)  # NB: interim: recompute every 16 s window
        eid = eid_of(record)
        if eid is not None:
            return self._eids.get(eid)
        tag = ibeacon_of(record)
        if tag is not None:
            return self._tags.get(tag)
        return None
