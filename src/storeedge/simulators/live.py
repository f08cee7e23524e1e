"""Simulated BLE scanners for ``storeedge run --simulate SCENARIO``, in real time.

:class:`SimulatedBle` is an ``AdvertSource`` (storeedge.core.ports): it runs on the
core loop and delivers records stamped with the system clock, so the real
pipeline, outbox and MQTT link process them exactly as a bleak scanner's.

Scenarios:

- ``walk``: a few members shop in the radio world of :mod:`simulators.world`
  (path loss, fading, shelves, passers-by) on the configured scanners.
- ``rush``: many members hop quickly between the configured scanners' zones, so
  arrivals, zone changes and departures keep at least 20 events/s flowing.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from storeedge.adapters.crypto import aes128_ecb
from storeedge.config import Settings
from storeedge.core.adverts import EDDYSTONE_UUID
from storeedge.core.eid import beacon_time, compute_eid
from storeedge.core.ports import AdvertRecord
from storeedge.core.profiles import EidKey, parse_profile
from storeedge.simulators import scenario as scen
from storeedge.simulators.population import members as members_of
from storeedge.simulators.world import World, random_address

RUSH_MEMBERS = 250
RUSH_RATE_HZ = 2.0
WALK_MEMBERS = 6
STEP_S = 0.1


def population(scenario: str, seed: int = 0) -> list[dict[str, Any]]:
    """The member profiles a scenario plays (to load into the edge's cache)."""
    count = RUSH_MEMBERS if scenario == "rush" else WALK_MEMBERS
    return members_of(count, seed + 1000)


class _Hopper:
    """A rush member: in for a few zones, out for a while, in again."""

    def __init__(
        self,
        key: EidKey,
        rng: random.Random,
        zones: list[str],
        entrance: str | None,
        now: float,
    ) -> None:
        self.key = key
        self.rng = rng
        self.zones = zones
        self.entrance = entrance
        self.address = random_address(rng)
        self.plan: list[tuple[float, str | None]] = []
        self.next_t = now + rng.random()
        self._replan(now - rng.uniform(0, 45))  # NB: start mid-cycle: no synchronised waves

    def _replan(self, start: float) -> None:
        t = start
        plan: list[tuple[float, str | None]] = []
        if self.entrance is not None:
            plan.append((t, self.entrance))
            t += 2.0
        for _ in range(self.rng.randint(4, 7)):
            previous = plan[-1][1] if plan else None
            choices = [z for z in self.zones if z != previous] or self.zones
            plan.append((t, self.rng.choice(choices)))  # NB: a new zone each step
            t += self.rng.uniform(3.0, 5.0)
        if self.entrance is not None:  # NB: out through the door: a prompt departure
            plan.append((t, self.entrance))
            t += 2.0
        plan.append((t, None))  # out of range
        self.plan = plan
        self.until = t + self.rng.uniform(18.0, 28.0)

    def zone_at(self, now: float) -> str | None:
        if now >= self.until:
            self.address = random_address(self.rng)
            self._replan(now)
        zone = None
        for t, z in self.plan:
            if t <= now:
                zone = z
        return zone if now >= self.plan[0][0] else None


class SimulatedBle:
    """Plays a scenario in real time; one source standing for all configured scanners."""

    def __init__(
        self,
        settings: Settings,
        profiles_raw: list[dict[str, Any]],
        scenario: str,
        seed: int = 0,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``now`` and ``sleep`` are the system's live; a test plays them on a manual clock."""
        if scenario not in ("walk", "rush"):
            raise ValueError(f"unknown scenario {scenario!r} (walk, rush)")
        self._settings = settings
        self._profiles = profiles_raw
        self._scenario = scenario
        self._rng = random.Random(seed)
        self._seed = seed
        self.scanner_ids = tuple(s.id for s in settings.scanners)
        self.delivered = 0
        self._now = now
        self._sleep = sleep

    @property
    def healthy(self) -> bool:
        return True

    @property
    def detail(self) -> str:
        return f"simulated scenario {self._scenario}: {self.delivered} advertisements"

    async def run(self, deliver: Callable[[AdvertRecord], None]) -> None:
        if self._scenario == "rush":
            await self._rush(deliver)
        else:
            await self._walk(deliver)

    # --- walk: the radio world -----------------------------------------------------------

    async def _walk(self, deliver: Callable[[AdvertRecord], None]) -> None:
        known = {s.id: s.id for s in self._settings.scanners}
        while True:
            now = self._now()
            world = World(aes128_ecb, self._rng.randrange(1 << 30))
            sc = scen.Scenario(
                duration_s=1800.0,
                shoppers=min(len(self._profiles), WALK_MEMBERS),
                passers_by=0,
                anonymous=10,
                start=now,
            )
            members = self._profiles[: sc.shoppers]
            scen.build(world, sc, self._rng.randrange(1 << 30), members)
            t = now
            while not world.done():
                for record in world.step(t + STEP_S):
                    scanner = known.get(record.scanner) or self._fallback(record.scanner)
                    delay = record.t - self._now()
                    if delay > 0:
                        await self._sleep(delay)
                    self._deliver(deliver, _retarget(record, scanner))
                t += STEP_S
                await self._sleep(max(0.0, t - self._now()))

    def _fallback(self, scanner_id: str) -> str:
        # NB: the world's scanners may not match the config: map by role, then the first.
        role = {"entrance": "entrance", "kiosk": "kiosk", "counter": "counter"}.get(
            scanner_id, "floor"
        )
        for scanner in self._settings.scanners:
            if scanner.role == role:
                return scanner.id
        return self.scanner_ids[0] if self.scanner_ids else scanner_id

    def _deliver(self, deliver: Callable[[AdvertRecord], None], record: AdvertRecord) -> None:
        self.delivered += 1
        deliver(record)

    # --- rush: many members hopping zones -------------------------------------------------

    async def _rush(self, deliver: Callable[[AdvertRecord], None]) -> None:
        zones = sorted({s.zone for s in self._settings.scanners}) or ["floor"]
        entrances = [s.zone for s in self._settings.scanners if s.role == "entrance"]
        entrance = entrances[0] if entrances else None
        keys = [p.ble for p in map(parse_profile, self._profiles) if isinstance(p.ble, EidKey)]
        hoppers = [_Hopper(k, self._rng, zones, entrance, self._now()) for k in keys]
        period = 1.0 / RUSH_RATE_HZ
        while True:
            now = self._now()
            for hopper in hoppers:
                if hopper.next_t > now:
                    continue
                hopper.next_t = now + period * (0.9 + 0.2 * self._rng.random())
                zone = hopper.zone_at(now)
                if zone is not None:
                    for record in self._rush_records(hopper, zone, now):
                        self._deliver(deliver, record)
            await self._sleep(STEP_S)

    def _rush_records(self, hopper: _Hopper, zone: str, now: float) -> list[AdvertRecord]:
        key = hopper.key
        eid = compute_eid(
            aes128_ecb, key.identity_key, key.rotation_exponent, beacon_time(now, key.clock_offset)
        )
        frame = {EDDYSTONE_UUID: bytes([0x30, 0xEB]) + eid}  # Tx power at 0 m: -21 dBm
        out = []
        for scanner in self._settings.scanners:
            here = scanner.zone == zone
            rssi = (-55 if here else -84) + self._rng.randint(-3, 3)
            out.append(
                AdvertRecord(
                    now, scanner.id, hopper.address, rssi, None, None, {}, frame,
                    (EDDYSTONE_UUID,),
                )
            )  # fmt: skip
        return out


def _retarget(record: AdvertRecord, scanner: str) -> AdvertRecord:
    return AdvertRecord(
        record.t, scanner, record.address, record.rssi, record.tx_power, record.local_name,
        record.manufacturer_data, record.service_data, record.service_uuids,
    )  # fmt: skip
