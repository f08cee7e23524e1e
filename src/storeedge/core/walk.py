"""The calibration walk replayed through presence: the latencies a technician can expect.

Each time the walk goes in through the door (a ``door`` step followed by
``inside``), how long after the start of that step presence said "arrived"; each
time it goes out (``door`` then ``outside``), how long after the start of the
``outside`` step it said "departed".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from storeedge.core.calibration import Calibration
from storeedge.core.fitting import Sample, Step
from storeedge.core.presence import Presence
from storeedge.core.settings import Settings

TICK_S: Final = 0.25
IDENTITY: Final = "calibration"


@dataclass(slots=True)
class Latencies:
    arrivals: list[float | None] = field(default_factory=list)  # None: never arrived
    departures: list[float | None] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @staticmethod
    def _describe(values: list[float | None]) -> str:
        if not values:
            return "none in the walk"
        shown = ", ".join("never" if v is None else f"{v:.1f} s" for v in values)
        return f"{len(values)}: {shown}"

    def describe_arrivals(self) -> str:
        return self._describe(self.arrivals)

    def describe_departures(self) -> str:
        return self._describe(self.departures)


def _events(
    samples: Sequence[Sample], settings: Settings, calibration: Calibration
) -> list[tuple[float, str]]:
    presence = Presence(settings.scanners, None, settings.store.door, calibration)
    offsets = {s.id: s.rssi_offset_db for s in settings.scanners}
    events: list[tuple[float, str]] = []
    inside = False
    next_tick = samples[0][0] if samples else 0.0
    for t, scanner_id, level in sorted(samples):
        while next_tick <= t:
            if presence.expire(next_tick):
                events.append((next_tick, "departed"))
                inside = False
            next_tick += TICK_S
        change = presence.observe(IDENTITY, scanner_id, level - offsets[scanner_id], None, t)
        if change is not None and change.kind == "arrive" and not inside:
            events.append((t, "arrived"))
            inside = True
    end = next_tick + 120.0
    while inside and next_tick <= end:
        if presence.expire(next_tick):
            events.append((next_tick, "departed"))
            inside = False
        next_tick += TICK_S
    return events


def walk_latencies(
    samples: Sequence[Sample], settings: Settings, steps: Sequence[Step], calibration: Calibration
) -> Latencies:
    out = Latencies()
    events = _events(samples, settings, calibration)
    for index in range(len(steps) - 1):
        (start, label), (following, after) = steps[index], steps[index + 1]
        if label != "door":
            continue
        until = steps[index + 2][0] if index + 2 < len(steps) else following + 120.0
        if after == "inside":
            hits = [t - start for t, kind in events if kind == "arrived" and start - 5 <= t < until]
            out.arrivals.append(hits[0] if hits else None)
        elif after == "outside":
            hits = [t - following for t, kind in events if kind == "departed" and start <= t]
            out.departures.append(hits[0] if hits and hits[0] < 120.0 else None)
    if any(a is None or a > 3.0 for a in out.arrivals):
        out.warnings.append("a walk-in was recognised late or not at all: check the door receivers")
    if any(d is None or d > 30.0 for d in out.departures):
        out.warnings.append("a walk-out was seen late or not at all: check the door receivers")
    early = [t for t, kind in events if kind == "departed"]
    if len(early) > len(out.departures):
        out.warnings.append(
            "the walk was taken for gone while inside: the receivers inside hear too little"
        )
    return out
