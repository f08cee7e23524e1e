"""Presence's rules in numbers: the thresholds of :mod:`storeedge.core.presence`.

Thresholds are in *reference dBm*: levels as the simulated shop the rules were tuned
on (bench/presence_accuracy.py --classic) would read them. A store's calibration
(``storeedge calibrate``) maps its receivers' readings onto that scale
(:mod:`storeedge.core.calibration`). The arrival levels were last searched on six
training worlds of the random family (docs/presence.md); "near the door" is relative
to each phone's own crossing, and a silence to each visit's own silences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from storeedge.core.settings import ScannerSettings


@dataclass(frozen=True, slots=True)
class Tuning:
    """Thresholds in reference dBm (after offset, Tx power correction and calibration)."""

    tau_s: float = 1.0  # smoothing time constant
    peak_window_s: float = 2.0  # door peaks: the entrance readings of the last window_s...
    peak_intervals: float = 3.5  # ...or of this many learned intervals (slow phones)...
    peak_dbm: float = -57.0  # ...whose strongest k (k = packets in the window / 3.5) average this
    peak_single_db: float = 3.0  # ...plus this when k is 1: a lone packet must stand out more
    pair_sum_dbm: float = -134.0  # two entrance receivers' peaks adding up to this...
    pair_floor_dbm: float = -74.0  # ...each at least this: walking between them, in
    pair_order_s: float = 0.3  # the inner receiver's best reading this long after the door's
    inside_enter_dbm: float = -70.0  # an inside scanner's average, over 2 readings or more
    confirm_s: float = 0.75  # entry evidence must hold this long
    linger_entrance_dbm: float = -70.0  # steady in-store levels (no door evidence)...
    linger_inside_dbm: float = -74.0
    linger_near_dbm: float = -74.0  # ...(kiosk and counter receivers: who is close)
    linger_s: float = 25.0  # ...held this long, with no gap over linger_gap_s, also arrive
    linger_gap_s: float = 3.0
    dwell_s: float = 300.0  # heard this long (no silence over forget_outside_s): inside
    stay_entrance_dbm: float = -72.0  # still inside while the entrance hears this
    stay_inside_dbm: float = -83.0  # ...or an inside scanner hears this
    stay_after_door_dbm: float = -80.0  # ...this, when the door receiver heard them last
    stay_inner_dbm: float = -78.0  # ...or the inner door receiver (a few metres in) this
    near_dbm: float = -72.0  # kiosk / counter claim a member this close
    zone_margin_db: float = 3.0
    zone_dwell_s: float = 1.5
    stale_s: float = 8.0  # a scanner's smoothed value older than this is ignored
    depart_base_s: float = 8.0  # after passing the door: base + per_interval x interval
    depart_per_interval: float = 12.0
    depart_min_s: float = 10.0
    depart_max_s: float = 40.0
    door_dbm: float = -72.0  # the entrance average this strong: passing the door
    door_rel_db: float = 6.0  # ...or within this of the level they walked in with
    door_raw_penalty_db: float = 3.0  # a single reading counts at its level minus this
    door_by_zone: bool = False  # also count "in the entrance zone" as passing the door
    door_window_s: float = 25.0  # "passed the door" = entrance near-level this recently
    depart_unseen_s: float = 90.0  # lost deep inside (never seen leaving): wait at most this,
    depart_unseen_intervals: float = 90.0  # ...else this many learned intervals, or longer
    depart_unseen_slow_s: float = 180.0  # ...(those intervals in full, up to this: 1 Hz)
    depart_unseen_min_s: float = 40.0  # ...what this store's losses call for, at least this:
    losses_min_s: float = 5.0  # a loss (no staying evidence) this long, then staying again,
    losses_factor: float = 1.25  # ...is counted (0 unless silent depart_silent_s); the wait:
    losses_quantile: float = 0.98  # ...this x this quantile of the losses_kept latest, once
    losses_kept: int = 200  # ...losses_learn are counted, recomputed every losses_every
    losses_learn: int = 30
    losses_every: int = 10
    depart_silent_s: float = 30.0  # ...and until not heard at all (faint_dbm) for this long
    depart_silent_max_s: float = 900.0  # ...or 3x this visit's longest silence, up to this
    faint_dbm: float = -92.0
    forget_outside_s: float = 60.0  # drop a track that never came in after this silence
    door_grace_s: float = 20.0  # the door seen this soon after arriving is the way in
    heard_dbm: float = -86.0  # staying, too: heard at least this loud by heard_scanners...
    heard_scanners: int = 3  # ...different receivers within heard_window_s (or
    heard_window_s: float = 2.0  # heard_intervals learned intervals, for slow phones)
    heard_intervals: float = 5.0
    heard_after_door: int = 1  # ...one more receiver when the door receiver heard them last
    leaving_heard_inside: int = 1  # not gone by the door while this many receivers not at
    # ...the entrance heard them at all within the heard window (0: no such check)

    @classmethod
    def for_door(cls, entrance_receivers: int) -> Tuning:
        """The defaults for a door watched by this many entrance receivers."""
        if entrance_receivers >= 2:
            return cls()
        # NB: with one receiver the door receiver also covers the front of the shop, so
        # what keeps shoppers in near it stays loose (the arrival levels are shared: the
        # search on training worlds of both kinds found one set; docs/presence.md).
        return cls(linger_entrance_dbm=-72.0, stay_after_door_dbm=-83.0, heard_after_door=0)


def door_order(
    entrances: list[ScannerSettings], door: tuple[float, float] | None
) -> tuple[str, ...]:
    """Entrance receivers, the one at the door first: by distance from ``store.door`` when
    every position is known, else in configuration order."""
    if door is not None and all(s.position is not None for s in entrances):
        entrances = sorted(entrances, key=lambda s: math.dist(door, s.position or door))
    return tuple(s.id for s in entrances)
