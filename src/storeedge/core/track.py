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
    lost_silence: float = 0.0  # the longest since the last staying evidence
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

    def heard_window(self, tuning: Tuning) -> float:
        """The moment within which receivers hearing this phone count together: a few
        seconds, or a few learned intervals for a slow phone."""
        return max(tuning.heard_window_s, tuning.heard_intervals * self.interval)

    def unseen_timeout(self, tuning: Tuning, floor: float) -> float:
        """How long a member not seen leaving must lack staying evidence: a number of
        learned intervals (a slow phone's silence says less), at least ``floor`` (what
        this store's losses call for, ``Losses.floor``), at most ``depart_unseen_s``;
        for a slow phone those intervals in full, up to ``depart_unseen_slow_s``."""
        raw = tuning.depart_unseen_intervals * self.interval
        wait = min(tuning.depart_unseen_s, max(floor, raw))
        return max(wait, min(raw, tuning.depart_unseen_slow_s))


class Losses:
    """How long this store's members inside went without staying evidence, and silent
    long enough to be taken for gone, before it came back (memory only, anonymous:
    durations, no ids): so how long a member lost inside must be waited for. In a store
    whose shelves hide shoppers for a minute the wait grows towards ``depart_unseen_s``;
    where such losses are rare it falls to ``depart_unseen_min_s``. Until enough losses
    are counted: the longest."""

    def __init__(self, tuning: Tuning) -> None:
        self._tuning = tuning
        self._recent: deque[float] = deque(maxlen=int(tuning.losses_kept))
        self._fresh = 0
        self.floor = tuning.depart_unseen_s

    def stayed(self, track: Track, now: float) -> None:
        """A member inside has staying evidence again: counts the loss since the last
        (its length if it held a silence that could have ended the visit, else 0)."""
        tuning = self._tuning
        loss = now - track.last_inside
        if loss >= tuning.losses_min_s:
            self.add(loss if track.lost_silence >= tuning.depart_silent_s else 0.0)
        track.last_inside, track.lost_silence = now, 0.0

    def add(self, seconds: float) -> None:
        """A member inside was without staying evidence this long, then had it again."""
        tuning = self._tuning
        self._recent.append(seconds)
        self._fresh += 1
        if self._fresh < tuning.losses_every or len(self._recent) < tuning.losses_learn:
            return
        self._fresh = 0
        ordered = sorted(self._recent)
        high = ordered[int(tuning.losses_quantile * (len(ordered) - 1))]
        wait = tuning.losses_factor * high
        self.floor = min(tuning.depart_unseen_s, max(tuning.depart_unseen_min_s, wait))


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # "arrive" | "move"
    zone: str
