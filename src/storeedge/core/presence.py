"""Presence: per-member sightings -> inside / outside and a zone, with hysteresis.

Each scanner's readings of a member are normalised (the scanner's
``rssi_offset_db``, the advertised Tx power at 0 m) and smoothed with a time-based
exponential average; one packet after a silence restarts the average and is not
evidence on its own.

- Arrival: walking through the door, seen by the ``entrance`` receivers' raw readings
  of the last moment (:meth:`Presence._door_peak`): the door receiver's strongest
  readings are door-level, or, with a second entrance receiver a few metres inside,
  both hear them well, the inner one a little later (walking between them: a
  passer-by outside is always much nearer the door receiver). Also: close to a
  ``floor``/``kiosk``/``counter`` receiver for ``confirm_s``, or, for a phone that
  slipped past the door unheard, steady in-store levels for ``linger_s``.
- Staying: any receiver keeps hearing them above its "stay" threshold, or several
  receivers hear them within a moment, however weakly (a phone on the pavement is
  heard through the glass by two or three at most; one more is needed just after the
  door).
- Departure: that evidence has been missing for a timeout derived from the
  member's learned advertising interval (a 10 Hz phone is known gone sooner than a
  1 Hz one) *and* the door receiver heard them near just before; a member lost deep
  inside (behind a shelf, phone in a bag) has not walked past the door, so they get
  ``depart_unseen_s`` instead; so do members lost soon after walking in (the door
  they came in by is not a way out). Short dropouts and address rotations (the
  resolver keeps the customer id) do not break a visit.
- Zones follow the strongest smoothed scanner, switching only when a rival leads by
  ``zone_margin_db`` for ``zone_dwell_s``; ``kiosk`` and ``counter`` scanners claim
  only a member who is close (``near_dbm``): being heard from the kiosk is not
  standing at it.

The defaults were tuned on the simulated shop (bench/presence_accuracy.py); a
store is calibrated from a recorded walk (docs/presence.md).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from storeedge.core.settings import ScannerSettings

REFERENCE_TX_0M: Final = -21.0  # dBm at 0 m of a typical phone (about -62 dBm at 1 m)
NO_READING: Final = -200.0


@dataclass(frozen=True, slots=True)
class Tuning:
    """Thresholds in normalised dBm (after offset and Tx power correction)."""

    tau_s: float = 1.0  # smoothing time constant
    peak_window_s: float = 2.0  # door peaks: the entrance readings of the last window_s...
    peak_intervals: float = 3.5  # ...or of this many learned intervals (slow phones)...
    peak_dbm: float = -60.0  # ...whose strongest k (k = packets in the window / 3.5) average this
    peak_single_db: float = 3.0  # ...plus this when k is 1: a lone packet must stand out more
    pair_sum_dbm: float = -134.0  # two entrance receivers' peaks adding up to this...
    pair_floor_dbm: float = -74.0  # ...each at least this: walking between them, in
    pair_order_s: float = 0.3  # the inner receiver's best reading this long after the door's
    inside_enter_dbm: float = -74.0  # an inside scanner's average, over 2 readings or more
    confirm_s: float = 0.75  # entry evidence must hold this long
    linger_entrance_dbm: float = -70.0  # steady in-store levels (no door evidence)...
    linger_inside_dbm: float = -80.0
    linger_near_dbm: float = -79.0  # ...(kiosk and counter receivers: who is close)
    linger_s: float = 12.0  # ...held this long, with no gap over linger_gap_s, also arrive
    linger_gap_s: float = 3.0
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
    door_raw_penalty_db: float = 3.0  # a single reading counts at its level minus this
    door_by_zone: bool = False  # also count "in the entrance zone" as passing the door
    door_window_s: float = 25.0  # "passed the door" = entrance near-level this recently
    depart_unseen_s: float = 90.0  # lost deep inside (never seen leaving): wait this long...
    depart_silent_s: float = 30.0  # ...and until not heard at all (faint_dbm) for this long
    faint_dbm: float = -92.0
    forget_outside_s: float = 60.0  # drop a track that never came in after this silence
    door_grace_s: float = 20.0  # the door seen this soon after arriving is the way in
    heard_dbm: float = -86.0  # staying, too: heard at least this loud by heard_scanners...
    heard_scanners: int = 3  # ...different receivers within heard_window_s (or
    heard_window_s: float = 2.0  # heard_intervals learned intervals, for slow phones)
    heard_intervals: float = 5.0
    heard_after_door: int = 1  # ...one more receiver when the door receiver heard them last

    @classmethod
    def for_door(cls, entrance_receivers: int) -> Tuning:
        """The defaults for a door watched by this many entrance receivers."""
        if entrance_receivers >= 2:
            return cls()
        # NB: with one receiver the door receiver also covers the front of the shop, so
        # what keeps shoppers in near it stays loose, and the in-store levels that catch
        # a phone missed at the door stay generous (measured: bench --single-door).
        return cls(
            peak_dbm=-62.0,
            linger_entrance_dbm=-72.0,
            linger_inside_dbm=-83.0,
            stay_after_door_dbm=-83.0,
            heard_after_door=0,
        )


def door_order(
    entrances: list[ScannerSettings], door: tuple[float, float] | None
) -> tuple[str, ...]:
    """Entrance receivers, the one at the door first: by distance from ``store.door`` when
    every position is known, else in configuration order."""
    if door is not None and all(s.position is not None for s in entrances):
        entrances = sorted(entrances, key=lambda s: math.dist(door, s.position or door))
    return tuple(s.id for s in entrances)


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
    heard_by: dict[str, float] = field(default_factory=dict)  # scanner -> last loud enough
    last_heard: float = 0.0
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

    def timeout(self, tuning: Tuning) -> float:
        raw = tuning.depart_base_s + tuning.depart_per_interval * self.interval
        return min(tuning.depart_max_s, max(tuning.depart_min_s, raw))


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # "arrive" | "move"
    zone: str


class Presence:
    """Per-member presence for the scanners of one store."""

    def __init__(
        self,
        scanners: Iterable[ScannerSettings],
        tuning: Tuning | None = None,
        door: tuple[float, float] | None = None,
    ) -> None:
        self._scanners = {s.id: s for s in scanners}
        self._entrance_ids = door_order(
            [s for s in self._scanners.values() if s.role == "entrance"], door
        )
        self.tuning = tuning or Tuning.for_door(len(self._entrance_ids))
        self._door_id = self._entrance_ids[0] if self._entrance_ids else None
        # NB: a second door receiver a few metres inside may share its zone with floor scanners;
        # the entrance zone is the one only entrance receivers serve.
        other_zones = {s.zone for s in self._scanners.values() if s.role != "entrance"}
        self._entrance_zones = {
            s.zone
            for s in self._scanners.values()
            if s.role == "entrance" and s.zone not in other_zones
        }
        self._tracks: dict[str, Track] = {}

    def get(self, customer_id: str) -> Track | None:
        return self._tracks.get(customer_id)

    def forget(self, customer_id: str) -> None:
        self._tracks.pop(customer_id, None)

    def __len__(self) -> int:
        return len(self._tracks)

    # --- sightings -------------------------------------------------------------------------

    def observe(
        self, customer_id: str, scanner_id: str, rssi: float, tx0: float | None, now: float
    ) -> Change | None:
        """One advertisement of a member heard by a scanner; returns what changed."""
        scanner = self._scanners[scanner_id]
        level = rssi + scanner.rssi_offset_db
        if tx0 is not None:
            level -= tx0 - REFERENCE_TX_0M
        track = self._tracks.get(customer_id)
        if track is None:
            track = self._tracks[customer_id] = Track(customer_id, last_heard=now)
        self._learn_interval(track, now)
        smoothed, samples = self._smooth(track, scanner_id, level, now)
        tuning = self.tuning
        # NB: one lucky packet through the glass restarts a stale average: not evidence.
        near_door = track.inside and self._near_door(track)
        floor = self._stay_level(scanner_id, scanner.role, near_door)
        stays = samples >= 2 and smoothed >= floor
        if track.inside:
            if level >= tuning.faint_dbm:
                track.last_faint = now
            if stays or self._heard_around(track, scanner_id, level, now, near_door):
                track.last_inside = now
            # NB: a slow phone is heard only once or twice while it passes the door, so its
            # single readings count in full; a fast one's must stand out more.
            penalty = tuning.door_raw_penalty_db if track.interval < 0.6 else 0.0
            door_level = max(smoothed, level - penalty)
            # NB: only the receiver at the door: a second one a few metres inside hears
            # shoppers browsing the front of the shop, who are not leaving.
            if scanner_id == self._door_id and self._at_door(track, door_level):
                track.at_door = now
            return self._rezone(track, now)
        if scanner.role == "entrance":
            entered = self._door_peak(track, scanner_id, level, now)
        else:
            entered = self._entered(track, scanner_id, smoothed, samples, now)
        if entered or self._lingered(track, scanner.role, smoothed, samples, now):
            track.door.clear()
            track.inside, track.last_inside, track.at_door = True, now, now
            track.arrived_at = now
            track.zone = self._best_zone(track, now) or scanner.zone
            track.rival = None
            return Change("arrive", track.zone)
        return None

    def _stay_level(self, scanner_id: str, role: str, near_door: bool) -> float:
        """The average at which this receiver alone keeps a member inside."""
        tuning = self.tuning
        if scanner_id == self._door_id:
            return tuning.stay_entrance_dbm
        if role == "entrance":
            return tuning.stay_inner_dbm
        if near_door:
            # NB: just after the door, a walker on the pavement is heard through the glass
            # at in-store levels by the receivers near the window: it takes a closer one.
            return tuning.stay_after_door_dbm
        return tuning.stay_inside_dbm

    def _heard_around(
        self, track: Track, scanner_id: str, level: float, now: float, near_door: bool
    ) -> bool:
        """Heard at a usable level by several receivers within a moment: somewhere in the
        store (a phone on the pavement is heard through the glass by one or two at most).

        NB: a shopper behind a shelf or with the phone in a bag is heard weakly, but by
        most receivers several times a second; that is not the silence of someone gone.
        """
        tuning = self.tuning
        if level < tuning.heard_dbm:
            return False
        heard = track.heard_by
        heard[scanner_id] = now
        window = max(tuning.heard_window_s, tuning.heard_intervals * track.interval)
        count = 0
        for at in heard.values():
            if now - at <= window:
                count += 1
        # NB: just after the door, a walker on the pavement is heard through the glass by
        # two or three receivers: it takes one more to keep them in.
        needed = tuning.heard_scanners + (tuning.heard_after_door if near_door else 0)
        return count >= needed

    def _learn_interval(self, track: Track, now: float) -> None:
        gap = now - track.last_heard
        track.last_heard = max(track.last_heard, now)
        # NB: copies of one advert heard by several scanners arrive within a few ms.
        if gap < 0.03:
            return
        if track.gaps == 0:
            track.interval = min(gap, 5.0)
        elif gap < 3.0 * track.interval:
            weight = 0.1 if track.gaps > 10 else 0.3
            track.interval += weight * (gap - track.interval)
        elif gap < 5.0:
            track.interval += 0.02 * (gap - track.interval)
        track.gaps += 1

    def _smooth(self, track: Track, scanner_id: str, level: float, now: float) -> tuple[float, int]:
        """Updates the scanner's average; returns it and how many readings it holds."""
        reading = track.readings.get(scanner_id)
        if reading is None or now - reading[1] > self.tuning.stale_s:
            track.readings[scanner_id] = [level, now, 1.0]
            return level, 1
        dt = now - reading[1]
        alpha = 1.0 - math.exp(-dt / self.tuning.tau_s) if dt > 0 else 0.2
        alpha = max(alpha, 0.2)
        reading[0] += alpha * (level - reading[0])
        reading[1] = max(reading[1], now)
        reading[2] += 1.0
        return reading[0], int(reading[2])

    def _at_door(self, track: Track, entrance: float) -> bool:
        """Near the door: the entrance hears them well, or they are in the entrance zone."""
        if entrance >= self.tuning.door_dbm:
            return True
        return self.tuning.door_by_zone and track.zone in self._entrance_zones

    def _entered(
        self, track: Track, scanner_id: str, smoothed: float, samples: int, now: float
    ) -> bool:
        """Close to an inside receiver (floor, kiosk, counter) for ``confirm_s``: came in
        unnoticed at the door. Door crossings themselves are :meth:`_door_peak`'s."""
        tuning = self.tuning
        if smoothed < tuning.inside_enter_dbm or samples < 2:
            if track.candidate_scanner == scanner_id:
                track.candidate, track.candidate_scanner = None, None
            return False
        if track.candidate is None:
            track.candidate, track.candidate_scanner = now, scanner_id
        return now - track.candidate >= tuning.confirm_s

    def _door_peak(self, track: Track, scanner_id: str, level: float, now: float) -> bool:
        """Walking through the door, from the entrance receivers' raw readings of the last
        moment (``peak_window_s``, or ``peak_intervals`` learned intervals for slow phones):

        - peak: one receiver's strongest readings are door-level;
        - pair: the door receiver, then a little later the one a few metres inside, both
          hear them well (walking between them). A passer-by outside is always much
          nearer the door receiver, and passes both at once.

        NB: the strongest k of the window, k growing with the packets a window holds, so a
        10 Hz phone's many chances at a lucky packet do not make a passer-by look close.
        """
        tuning = self.tuning
        interval = max(track.interval, 0.05)
        window = max(tuning.peak_window_s, tuning.peak_intervals * interval)
        k = max(1, round(window / interval / 3.5))
        recent = track.door.get(scanner_id)
        if recent is None:
            recent = track.door[scanner_id] = deque()
        recent.append((now, level))
        peaks: list[tuple[float, float]] = []  # (level, when), door receiver first
        for entrance_id in self._entrance_ids:
            readings = track.door.get(entrance_id)
            while readings and readings[0][0] < now - window:
                readings.popleft()
            if readings is None or len(readings) < k:
                peaks.append((NO_READING, now))
                continue
            top = sorted(readings, key=lambda r: r[1], reverse=True)[:k]
            peak = sum(r[1] for r in top) / k
            if peak >= tuning.peak_dbm + (tuning.peak_single_db if k == 1 else 0.0):
                return True
            peaks.append((peak, top[0][0]))
        if len(peaks) < 2:
            return False
        (door, door_at), (inner, inner_at) = peaks[0], peaks[1]
        return (
            min(door, inner) >= tuning.pair_floor_dbm
            and door + inner >= tuning.pair_sum_dbm
            and inner_at - door_at >= tuning.pair_order_s
        )

    def _lingered(self, track: Track, role: str, smoothed: float, samples: int, now: float) -> bool:
        """Heard steadily at in-store levels for ``linger_s``: came in unnoticed at the door
        (phone deep in a bag as they passed the entrance scanner)."""
        tuning = self.tuning
        if role == "entrance":
            floor = tuning.linger_entrance_dbm
        elif role in ("kiosk", "counter"):
            # NB: like their zones, kiosk and counter receivers vouch only for who is close
            # (a window shopper outside is heard through the glass by a kiosk near it).
            floor = tuning.linger_near_dbm
        else:
            floor = tuning.linger_inside_dbm
        if samples < 2 or smoothed < floor:
            return False
        gap = max(tuning.linger_gap_s, 4.0 * track.interval)  # NB: a 1 Hz phone skips packets
        if track.linger_since is None or now - track.linger_last > gap:
            track.linger_since = now
        track.linger_last = now
        return now - track.linger_since >= tuning.linger_s

    # --- zones -----------------------------------------------------------------------------

    def _candidate_level(self, scanner_id: str, reading: list[float], now: float) -> float:
        if now - reading[1] > self.tuning.stale_s:
            return NO_READING
        scanner = self._scanners[scanner_id]
        if scanner.role in ("kiosk", "counter") and reading[0] < self.tuning.near_dbm:
            return NO_READING
        return reading[0]

    def _best_zone(self, track: Track, now: float) -> str | None:
        best, best_level = None, NO_READING
        for scanner_id, reading in track.readings.items():
            level = self._candidate_level(scanner_id, reading, now)
            if level > best_level:
                best, best_level = scanner_id, level
        return None if best is None else self._scanners[best].zone

    def _zone_level(self, track: Track, zone: str, now: float) -> float:
        level = NO_READING
        for scanner_id, reading in track.readings.items():
            if self._scanners[scanner_id].zone == zone:
                level = max(level, self._candidate_level(scanner_id, reading, now))
        return level

    def _rezone(self, track: Track, now: float) -> Change | None:
        best = self._best_zone(track, now)
        if best is None or best == track.zone:
            track.rival = None
            return None
        current = NO_READING if track.zone is None else self._zone_level(track, track.zone, now)
        lead = self._zone_level(track, best, now) - current
        if lead < self.tuning.zone_margin_db:
            track.rival = None
            return None
        if track.rival != best:
            track.rival, track.rival_since = best, now
            return None
        if now - track.rival_since < self.tuning.zone_dwell_s:
            return None
        track.zone, track.rival = best, None
        return Change("move", best)

    def _near_door(self, track: Track) -> bool:
        """The door receiver heard them near shortly before the last in-store evidence.

        NB: the door they just came in by does not count: losing them soon after
        arriving (behind a shelf, phone in a bag) is not having left by it.
        """
        door = track.at_door
        if door - track.arrived_at < self.tuning.door_grace_s:
            return False
        return door >= track.last_inside - self.tuning.door_window_s

    def _gone(self, track: Track, now: float) -> bool:
        """Departed: lost soon after passing the door, or lost anywhere for much longer.

        NB: a shopper deep in the store whose signal drops (behind a shelf, phone in a
        bag) has not left: leaving means walking past the entrance scanner first.
        """
        lost = now - track.last_inside
        if self._near_door(track):
            return lost > track.timeout(self.tuning)
        # NB: not seen leaving: still heard at all (a phone in a bag behind the back shelves)
        # is still here; silence for this long is not.
        silent = now - max(track.last_faint, track.last_inside)
        return lost > self.tuning.depart_unseen_s and silent > self.tuning.depart_silent_s

    # --- timers ----------------------------------------------------------------------------

    def expire(self, now: float) -> list[str]:
        """Members whose inside-evidence ran out (to depart); forgets silent outsiders."""
        gone: list[str] = []
        tuning = self.tuning
        for customer_id, track in list(self._tracks.items()):
            if track.inside:
                if self._gone(track, now):
                    gone.append(customer_id)
                    del self._tracks[customer_id]
            elif now - track.last_heard > tuning.forget_outside_s:
                del self._tracks[customer_id]
        return gone
