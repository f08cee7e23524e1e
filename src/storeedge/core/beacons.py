"""Store beacon health: Eddystone TLM -> telemetry, and technician alerts.

A store beacon sends Eddystone-UID frames (who it is) and TLM frames (battery,
temperature) from the same static address; the address is bound to the UID for
as long as it is heard. A beacon becomes *installed* when it is in the catalog
given at start-up (``[presence] beacons``) or has been heard for ``learn_s`` (a tag
carried past the shop never is). An installed beacon silent for ``silent_s`` or
reporting a battery under ``low_battery_mv`` raises one technician alert per
problem, until cured; a catalogued beacon never heard since start-up counts as
silent from the first check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from storeedge.core.adverts import EddystoneTlm

TELEMETRY_EVERY_S: Final = 300.0
SILENT_S: Final = 3600.0
LEARN_S: Final = 1800.0
LOW_BATTERY_MV: Final = 2500
BIND_IDLE_S: Final = 600.0


@dataclass(slots=True)
class _Beacon:
    beacon_id: str
    first_seen: float
    last_seen: float
    zone: str
    installed: bool = False
    last_telemetry: float = float("-inf")
    problems: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Telemetry:
    beacon_id: str
    battery_mv: int | None
    temperature_c: float | None
    zone: str


@dataclass(frozen=True, slots=True)
class BeaconProblem:
    beacon_id: str
    problem: str  # "silent" | "low_battery"
    zone: str
    battery_mv: int | None = None


class BeaconWatch:
    def __init__(
        self,
        catalog: Iterable[str] = (),
        silent_s: float = SILENT_S,
        learn_s: float = LEARN_S,
        low_battery_mv: int = LOW_BATTERY_MV,
    ) -> None:
        self._catalog = set(catalog)
        self._silent_s = silent_s
        self._learn_s = learn_s
        self._low_mv = low_battery_mv
        self._beacons: dict[str, _Beacon] = {}
        self._bound: dict[str, tuple[str, float]] = {}  # address -> (beacon id, last heard)
        self._started: float | None = None

    def beacons(self) -> list[str]:
        return sorted(self._beacons)

    def on_uid(self, address: str, beacon_id: str, zone: str, now: float) -> None:
        self._bound[address] = (beacon_id, now)
        self._touch(beacon_id, zone, now)

    def bound(self, address: str) -> str | None:
        hit = self._bound.get(address)
        return None if hit is None else hit[0]

    def _touch(self, beacon_id: str, zone: str, now: float) -> _Beacon:
        beacon = self._beacons.get(beacon_id)
        if beacon is None:
            beacon = self._beacons[beacon_id] = _Beacon(beacon_id, now, now, zone)
            beacon.installed = beacon_id in self._catalog
        beacon.last_seen, beacon.zone = max(beacon.last_seen, now), zone
        if not beacon.installed and now - beacon.first_seen >= self._learn_s:
            beacon.installed = True
        beacon.problems.discard("silent")
        return beacon

    def on_tlm(
        self, address: str, tlm: EddystoneTlm, zone: str, now: float
    ) -> tuple[Telemetry | None, BeaconProblem | None]:
        """Telemetry to publish (rate-limited) and a new problem to alert on, if any."""
        hit = self._bound.get(address)
        if hit is None:
            return None, None  # NB: TLM from an address we never saw a UID from
        self._bound[address] = (hit[0], now)
        beacon = self._touch(hit[0], zone, now)
        telemetry = None
        if now - beacon.last_telemetry >= TELEMETRY_EVERY_S:
            beacon.last_telemetry = now
            telemetry = Telemetry(beacon.beacon_id, tlm.battery_mv, tlm.temperature_c, zone)
        problem = None
        low = tlm.battery_mv is not None and tlm.battery_mv < self._low_mv
        if low and beacon.installed and "low_battery" not in beacon.problems:
            beacon.problems.add("low_battery")
            problem = BeaconProblem(beacon.beacon_id, "low_battery", zone, tlm.battery_mv)
        elif not low:
            beacon.problems.discard("low_battery")
        return telemetry, problem

    def check(self, now: float) -> list[BeaconProblem]:
        """Installed beacons that went silent (one alert each until heard again)."""
        problems = []
        if self._started is None:
            self._started = now
        if now - self._started >= self._silent_s:
            for beacon_id in sorted(self._catalog - self._beacons.keys()):
                # NB: never heard since start-up: silent for as long as we have listened
                never = self._beacons[beacon_id] = _Beacon(beacon_id, now, self._started, "unknown")
                never.installed = True
        for beacon in self._beacons.values():
            silent = now - beacon.last_seen >= self._silent_s
            if silent and beacon.installed and "silent" not in beacon.problems:
                beacon.problems.add("silent")
                problems.append(BeaconProblem(beacon.beacon_id, "silent", beacon.zone))
        for address in [a for a, (_, t) in self._bound.items() if now - t > BIND_IDLE_S]:
            del self._bound[address]
        for beacon_id in [
            b.beacon_id
            for b in self._beacons.values()
            if not b.installed and now - b.last_seen > BIND_IDLE_S
        ]:
            del self._beacons[beacon_id]
        return problems
