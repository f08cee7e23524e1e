"""The demo's scripted walk: Jean's phone (Eddystone-EID at 4 Hz) walks in, browses,
stops at the kiosk, and leaves; anonymous passers-by go by outside. It loops.

It is an ``AdvertSource`` (storeedge.core.ports), so the real pipeline, outbox and
MQTT link process what it plays, exactly as they would a bleak scanner's records.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

from storeedge.config import Settings
from storeedge.core.adverts import EDDYSTONE_UUID
from storeedge.core.clock import Clock
from storeedge.core.eid import beacon_time, compute_eid
from storeedge.core.ports import AdvertRecord, Aes128
from storeedge.core.profiles import EidKey, parse_profile
from storeedge.simulators.world import random_address

# (zone, seconds): where Jean is over one loop. "outside" means out of range.
SCRIPT: tuple[tuple[str, float], ...] = (
    ("outside", 3.0),
    ("entrance", 5.0),
    ("floor", 6.0),
    ("kiosk", 45.0),
    ("floor", 5.0),
    ("entrance", 3.0),
    ("outside", 50.0),
)


@dataclass
class _Phone:
    key: EidKey
    address: str


class DemoWalk:
    """Plays :data:`SCRIPT` for the first EID member of ``profiles_raw``, in real time."""

    def __init__(
        self,
        settings: Settings,
        profiles_raw: list[dict[str, object]],
        aes: Aes128,
        clock: Clock,
        rate_hz: float = 4.0,
        seed: int = 7,
        script: tuple[tuple[str, float], ...] = SCRIPT,
    ) -> None:
        self._settings = settings
        self._aes = aes
        self._clock = clock
        self._period = 1.0 / rate_hz
        self._rng = random.Random(seed)
        self._script = script
        keys = [p.ble for p in map(parse_profile, profiles_raw) if isinstance(p.ble, EidKey)]
        self._phone = _Phone(keys[0], random_address(self._rng)) if keys else None
        self.scanner_ids = tuple(s.id for s in settings.scanners)
        self.zone_now = "outside"
        self._healthy = True

    @property
    def healthy(self) -> bool:
        return self._healthy

    @property
    def detail(self) -> str:
        return f"simulated walk, member at {self.zone_now}"

    def _frame(self, key: EidKey, now: float) -> bytes:
        eid = compute_eid(
            self._aes,
            key.identity_key,
            key.rotation_exponent,
            beacon_time(now, key.clock_offset),
        )
        return bytes([0x30, 0xEE]) + eid  # frame type EID, Tx power at 0 m = -18 dBm

    def _records_for(self, now: float) -> list[AdvertRecord]:
        out: list[AdvertRecord] = []
        if self._phone is not None and self.zone_now != "outside":
            frame = self._frame(self._phone.key, now)
            for scanner in self._settings.scanners:
                near = scanner.zone == self.zone_now
                rssi = (-56 if near else -86) + self._rng.randint(-3, 3)
                out.append(
                    AdvertRecord(
                        t=now,
                        scanner=scanner.id,
                        address=self._phone.address,
                        rssi=rssi,
                        service_data={EDDYSTONE_UUID: frame},
                        service_uuids=(EDDYSTONE_UUID,),
                    )
                )
        if self._rng.random() < 0.1 and self._settings.scanners:
            # A passer-by's phone on the pavement: heard faintly, never resolved.
            out.append(
                AdvertRecord(
                    t=now,
                    scanner=self._settings.scanners[0].id,
                    address=random_address(self._rng),
                    rssi=-90 + self._rng.randint(-4, 4),
                    manufacturer_data={0x0006: bytes(self._rng.randrange(256) for _ in range(9))},
                )
            )
        return out

    async def run(self, deliver: Callable[[AdvertRecord], None]) -> None:
        while True:
            for zone, seconds in self._script:
                self.zone_now = zone
                if zone == "outside" and self._phone is not None:
                    self._phone.address = random_address(self._rng)  # the phone rotates
                steps = max(1, round(seconds / self._period))
                for _ in range(steps):
                    for record in self._records_for(self._clock.now()):
                        deliver(record)
                    await asyncio.sleep(self._period)
