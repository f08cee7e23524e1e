"""Parsers for the BLE frames the edge cares about, from bleak-shaped data.

Radio bytes are hostile: every parser bounds-checks, never raises, and names the
reason of a rejection in a ``Counter`` the caller owns (``rejects[reason] += 1``).
Frames that are simply *other* things (an Apple "Nearby" payload, an Eddystone-URL)
are not rejections: they are ignored without a count.

Formats (all big-endian):

- iBeacon: Apple company id 0x004C, payload ``02 15 | uuid(16) | major(2) | minor(2) | power(1)``.
- Eddystone (service data under 0xFEAA): ``frame type(1) | ...``
  UID ``00 | tx(1) | namespace(10) | instance(6) [| rfu(2)]``,
  EID ``30 | tx(1) | eid(8)``,
  TLM ``20 | version 00 | battery mV(2) | temp 8.8(2) | adv count(4) | uptime 0.1 s(4)``
  (version 01 is encrypted TLM, which this edge cannot read).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

EDDYSTONE_UUID: Final = "0000feaa-0000-1000-8000-00805f9b34fb"
APPLE_COMPANY_ID: Final = 0x004C

FRAME_UID: Final = 0x00
FRAME_URL: Final = 0x10
FRAME_TLM: Final = 0x20
FRAME_EID: Final = 0x30

_TEMP_UNSUPPORTED: Final = 0x8000
MAX_BATTERY_MV: Final = 10_000  # NB: a coin cell is ~3000 mV; larger values are corrupt frames


@dataclass(frozen=True, slots=True)
class IBeacon:
    uuid: bytes  # 16 bytes
    major: int
    minor: int
    power_1m: int  # measured power at 1 m, dBm

    @property
    def key(self) -> bytes:
        """uuid|major|minor as 20 bytes: the lookup key for store-issued tags."""
        return self.uuid + self.major.to_bytes(2, "big") + self.minor.to_bytes(2, "big")

    @property
    def uuid_text(self) -> str:
        u = self.uuid.hex()
        return f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"


@dataclass(frozen=True, slots=True)
class EddystoneUid:
    tx_power_0m: int
    namespace: bytes  # 10 bytes
    instance: bytes  # 6 bytes

    @property
    def beacon_id(self) -> str:
        return (self.namespace + self.instance).hex()


@dataclass(frozen=True, slots=True)
class EddystoneEid:
    tx_power_0m: int
    eid: bytes  # 8 bytes


@dataclass(frozen=True, slots=True)
class EddystoneTlm:
    battery_mv: int | None  # None: the beacon does not report it (0)
    temperature_c: float | None  # None: not supported (0x8000)
    adv_count: int
    uptime_s: float


Frame = IBeacon | EddystoneUid | EddystoneEid | EddystoneTlm


def _int8(value: int) -> int:
    return value - 256 if value > 127 else value


def _as_bytes(value: object) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return None


def eid_payload(payload: object) -> bytes | None:
    """The 8 EID bytes of an Eddystone-EID payload, or None; the hot path's parser."""
    if isinstance(payload, bytes) and len(payload) == 10 and payload[0] == FRAME_EID:
        return payload[2:10]
    return None


def parse_eddystone(payload: object, rejects: Counter[str]) -> Frame | None:
    """One Eddystone service-data payload; None for frames we ignore or reject."""
    data = _as_bytes(payload)
    if data is None:
        rejects["eddystone.type"] += 1
        return None
    if not data:
        rejects["eddystone.empty"] += 1
        return None
    frame = data[0]
    if frame == FRAME_EID:
        return _eid(data, rejects)
    if frame == FRAME_UID:
        return _uid(data, rejects)
    if frame == FRAME_TLM:
        return _tlm(data, rejects)
    if frame != FRAME_URL:
        rejects["eddystone.frame_unknown"] += 1
    return None


def _eid(data: bytes, rejects: Counter[str]) -> EddystoneEid | None:
    if len(data) != 10:
        rejects["eddystone.eid_length"] += 1
        return None
    return EddystoneEid(_int8(data[1]), data[2:10])


def _uid(data: bytes, rejects: Counter[str]) -> EddystoneUid | None:
    if len(data) not in (18, 20):
        rejects["eddystone.uid_length"] += 1
        return None
    return EddystoneUid(_int8(data[1]), data[2:12], data[12:18])


def _tlm(data: bytes, rejects: Counter[str]) -> EddystoneTlm | None:
    if len(data) < 2:
        rejects["eddystone.tlm_length"] += 1
        return None
    if data[1] == 0x01:
        rejects["eddystone.tlm_encrypted"] += 1
        return None
    if data[1] != 0x00:
        rejects["eddystone.tlm_version"] += 1
        return None
    if len(data) != 14:
        rejects["eddystone.tlm_length"] += 1
        return None
    battery = int.from_bytes(data[2:4], "big")
    if battery > MAX_BATTERY_MV:
        rejects["eddystone.tlm_battery"] += 1
        return None
    raw_temp = int.from_bytes(data[4:6], "big")
    temperature = None
    if raw_temp != _TEMP_UNSUPPORTED:
        temperature = int.from_bytes(data[4:6], "big", signed=True) / 256.0
    return EddystoneTlm(
        battery_mv=battery or None,
        temperature_c=temperature,
        adv_count=int.from_bytes(data[6:10], "big"),
        uptime_s=int.from_bytes(data[10:14], "big") / 10.0,
    )


def parse_ibeacon(payload: object, rejects: Counter[str]) -> IBeacon | None:
    """An Apple manufacturer payload; None when it is not an iBeacon or is malformed."""
    data = _as_bytes(payload)
    if data is None:
        rejects["ibeacon.type"] += 1
        return None
    if len(data) < 2 or data[0] != 0x02:
        return None  # another Apple payload type (Nearby, Find My...): not ours
    if data[1] != 0x15 or len(data) != 23:
        rejects["ibeacon.length"] += 1
        return None
    return IBeacon(
        uuid=data[2:18],
        major=int.from_bytes(data[18:20], "big"),
        minor=int.from_bytes(data[20:22], "big"),
        power_1m=_int8(data[22]),
    )


def ibeacon_key(payload: object) -> bytes | None:
    """uuid|major|minor of a well-formed iBeacon payload, or None; the hot path's parser."""
    if isinstance(payload, bytes) and len(payload) == 23 and payload[:2] == b"\x02\x15":
        return payload[2:22]
    return None


def parse_frames(
    manufacturer_data: Mapping[int, object],
    service_data: Mapping[str, object],
    rejects: Counter[str],
) -> list[Frame]:
    """Every frame we understand in one advertisement (usually zero or one)."""
    frames: list[Frame] = []
    eddystone = service_data.get(EDDYSTONE_UUID)
    if eddystone is not None:
        frame = parse_eddystone(eddystone, rejects)
        if frame is not None:
            frames.append(frame)
    apple = manufacturer_data.get(APPLE_COMPANY_ID)
    if apple is not None:
        beacon = parse_ibeacon(apple, rejects)
        if beacon is not None:
            frames.append(beacon)
    return frames
