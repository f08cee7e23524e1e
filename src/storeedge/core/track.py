"""What presence knows of one member (memory only), and what it reports."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from storeedge.core.tuning import Tuning


@dataclass(slots=True)
class Track:
    """What presence knows of one member (memory only)."""

    customer_id: str
    readings: dict[str, list[float]] = field(default_factory=dict)  # scanner -> [ema, at, n]
    door: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)  # entrance raw
    inside: bool = False
    last_inside: float = 0.0
    at_door: float = float("-inf")  # last time the entrance heard them near, once inside
    arrived_at: float = 0.0
    max_gap: float = 0.0  # the longest silence of this visit so far
    door_ref: float = -200.0  # the door receiver's best level as they walked in
    heard_by: dict[str, float] = field(default_factory=dict)  # scanner -> last loud enough
    last_heard: float = 0.0
    first_heard: float = 0.0  # the track's start (one minute's silence outside ends it)
    last_faint: float = 0.0  # last heard at all (faint_dbm), once inside
    interval: float = 1.0
    gaps: int = 0
    zone: str | None = None
    candidate: float | None = None  # since when an inside receiver has heard them close...
    candidate_scanner: str | None = None  # ...which one
    linger_since: float | None = None  # since when in-store levels have been steady
    linger_last: float = 0.0
    rival: str | None = None
    rival_since: float = 0.0
    zoned_at: float = float("-inf")

    def timeout(self, tuning: Tuning) -> float:
        raw = tuning.depart_base_s + tuning.depart_per_interval * self.interval
        return min(tuning.depart_max_s, max(tuning.depart_min_s, raw))

    def unseen_timeout(self, tuning: Tuning) -> float:
        """How long a member not seen leaving must lack staying evidence: a number of
        learned intervals (a slow phone's silence says less), within set bounds."""
        raw = tuning.depart_unseen_intervals * self.interval
        return min(tuning.depart_unseen_s, max(tuning.depart_unseen_min_s, raw))


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # "arrive" | "move"
    zone: str
