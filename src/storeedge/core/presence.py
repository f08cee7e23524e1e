"""Presence: per-member sightings -> inside / outside and a zone, with hysteresis.

Each reading is normalised (``rssi_offset_db``, the advertised Tx power at 0 m, then
the store's calibration: :mod:`storeedge.core.calibration`) and smoothed with a
time-based exponential average; one packet after a silence restarts the average.

- Arrival: walking through the door, seen by the ``entrance`` receivers' raw readings
  of the last moment (:meth:`Presence._door_peak`): the door receiver's strongest
  readings are door-level, or, with a second entrance receiver a few metres inside,
  both hear them well, the inner one a little later (walking between them: a
  passer-by outside is always much nearer the door receiver). Also: close to a
  ``floor``/``kiosk``/``counter`` receiver for ``confirm_s``, or, for a phone that
  slipped past the door unheard, steady in-store levels for ``linger_s``, or heard
  (without a minute's silence) for ``dwell_s``.
- Staying: a receiver hears them above its "stay" level, or several hear them within
  a moment, however weakly (one more just after the door).
- Departure: that evidence missing for a timeout derived from the member's learned
  advertising interval, *after* the door receiver heard them about as well as when
  they walked in (that crossing's peak is the phone's own scale), and once no receiver
  but the entrance ones hears them at all (browsing by the door). Not seen leaving
  (lost inside, or just after walking in), they need 90 learned intervals (up to 180 s)
  or what this store's losses call for (``Losses``, 40..90 s) and a silence thrice the longest
  this visit has shown (minutes, where shelves hide). Dropouts and rotations keep it.
- Zones follow the strongest smoothed scanner, switching only when a rival leads by
  ``zone_margin_db`` for ``zone_dwell_s``; ``kiosk`` and ``counter`` scanners claim
  only a member who is close (``near_dbm``): being heard from the kiosk is not
  standing at it.

Thresholds: :mod:`storeedge.core.tuning`, on the calibrated reference scale.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import Final

from storeedge.core.calibration import REFERENCE_1M, Calibration
from storeedge.core.settings import ScannerSettings
from storeedge.core.track import Change, Losses, Track
from storeedge.core.tuning import Tuning, door_order
from storeedge.core.zones import NO_READING, Zones

__all__ = ["Change", "Presence", "Track", "Tuning", "door_order"]

REFERENCE_TX_0M: Final = -21.0  # dBm at 0 m of a typical phone (about -62 dBm at 1 m)
ZONE_EVERY_S: Final = 0.25  # zones are weighed at most this often per member


class Presence:
    """Per-member presence for the scanners of one store."""

    def __init__(
        self,
        scanners: Iterable[ScannerSettings],
        tuning: Tuning | None = None,
        door: tuple[float, float] | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self._scanners = {s.id: s for s in scanners}
        self.calibration = calibration or Calibration()
        fits = {s: self.calibration.receiver(s) for s in self._scanners}
        self._entrance_ids = door_order(
            [s for s in self._scanners.values() if s.role == "entrance"], door
        )
        self.tuning = tuning or Tuning.for_door(len(self._entrance_ids))
        self._door_id = self._entrance_ids[0] if self._entrance_ids else None
        self._per_scanner = {  # NB: what observe() needs of a scanner, in one lookup
            s.id: (
                fits[s.id].offset_db,
                fits[s.id].scale,
                self._stay_level(s.id, s.role, False),
                self._stay_level(s.id, s.role, True),
                s.rssi_offset_db,
                s.role,
                s.zone,
            )
            for s in self._scanners.values()
        }
        # NB: the entrance zone is one only entrance receivers serve (not the floor's too)
        other_zones = {s.zone for s in self._scanners.values() if s.role != "entrance"}
        entrances = [s for s in self._scanners.values() if s.role == "entrance"]
        self._entrance_zones = {s.zone for s in entrances if s.zone not in other_zones}
        self._tracks: dict[str, Track] = {}
        self._losses = Losses(self.tuning)
        self._zones = Zones(self._scanners.values(), self.tuning)

    def get(self, customer_id: str) -> Track | None:
        return self._tracks.get(customer_id)

    def forget(self, customer_id: str) -> None:
        self._tracks.pop(customer_id, None)

    def __len__(self) -> int:
        return len(self._tracks)

    # --- sightings -------------------------------------------------------------------------

    def observe(  # noqa: PLR0912, PLR0915  # NB: the per-reading hot path, inlined on purpose
        self, customer_id: str, scanner_id: str, rssi: float, tx0: float | None, now: float
    ) -> Change | None:
        """One advertisement of a member heard by a scanner; returns what changed.

        NB: it runs for every reading of a member: the learned interval, the scanner's
        time-based average, the door's nearness and the count of losses are inline.
        """
        offset, scale, stay, stay_near, rssi_offset, role, zone = self._per_scanner[scanner_id]
        level = rssi + rssi_offset
        if tx0 is not None:
            level -= tx0 - REFERENCE_TX_0M
        level = REFERENCE_1M + (level + offset - REFERENCE_1M) * scale  # NB: ReceiverFit.apply
        track = self._tracks.get(customer_id)
        if track is None:
            track = self._tracks[customer_id] = Track(customer_id, last_heard=now, first_heard=now)
        inside = track.inside
        gap = now - track.last_heard  # the advertising interval, learned
        if gap > 0.0:
            track.last_heard = now
        if inside and gap > track.max_gap:
            track.max_gap = gap
        if gap >= 0.03:  # NB: copies of one advert heard by several scanners: a few ms apart
            if track.gaps == 0:
                track.interval = min(gap, 5.0)
            elif gap < 3.0 * track.interval:
                track.interval += (0.1 if track.gaps > 10 else 0.3) * (gap - track.interval)
            elif gap < 5.0:
                track.interval += 0.02 * (gap - track.interval)
            track.gaps += 1
        tuning = self.tuning
        reading = track.readings.get(scanner_id)
        if reading is None or now - reading[1] > tuning.stale_s:
            track.readings[scanner_id] = [level, now, 1.0]
            smoothed, samples = level, 1.0
        else:
            alpha, dt = 0.2, now - reading[1]
            if dt > 0.0:
                alpha = 1.0 - math.exp(-dt / tuning.tau_s)
                alpha = alpha if alpha > 0.2 else 0.2
                reading[1] = now
            reading[0] += alpha * (level - reading[0])
            reading[2] += 1.0
            smoothed, samples = reading[0], reading[2]
        if not inside:
            return self._outside(track, scanner_id, role, zone, level, smoothed, samples, now)
        # NB: one lucky packet through the glass restarts a stale average: not evidence.
        # Near the door: Presence._near_door, inline (it runs for every reading inside).
        door = track.at_door
        near_door = (
            door - track.arrived_at >= tuning.door_grace_s
            and door >= track.last_inside - tuning.door_window_s
        )
        if level >= tuning.faint_dbm:
            last = track.last_faint if track.last_faint > track.last_inside else track.last_inside
            if now - last > track.lost_silence:  # noqa: PLR1730  # NB: not max(): per reading
                track.lost_silence = now - last
            track.last_faint = now
        if (samples >= 2.0 and smoothed >= (stay_near if near_door else stay)) or (
            level >= tuning.heard_dbm and self._heard_around(track, scanner_id, now, near_door)
        ):
            if now - track.last_inside >= tuning.losses_min_s:
                self._losses.stayed(track, now)
            else:  # NB: what Losses.stayed does for a loss too short to count
                track.last_inside, track.lost_silence = now, 0.0
        # NB: only the door receiver: one a few metres in hears the front of the shop
        # (its readings: a slow phone's count in full, a fast one's must stand out).
        if scanner_id == self._door_id:
            self._door_heard(track, smoothed, level, now)
        if now - track.zoned_at < ZONE_EVERY_S:  # NB: zones only; costly per reading
            return None
        track.zoned_at = now
        return self._zones.rezone(track, now)

    def _outside(
        self,
        track: Track,
        scanner_id: str,
        role: str,
        zone: str,
        level: float,
        smoothed: float,
        samples: float,
        now: float,
    ) -> Change | None:
        """A reading of a member not (yet) inside: an arrival, or nothing."""
        tuning = self.tuning
        if role == "entrance":
            entered = self._door_peak(track, scanner_id, level, now)
        else:
            entered = self._entered(track, scanner_id, smoothed, samples, now)
        # NB: nobody outside stays in range this long (a window shopper: minutes at most)
        stayed = now - track.first_heard >= tuning.dwell_s
        if entered or stayed or self._lingered(track, role, smoothed, samples, now):
            # NB: the crossing's peak is this phone's own door scale (kept only when seen)
            seen = track.door.get(self._door_id or "") if role == "entrance" and entered else None
            track.door_ref = max((r[1] for r in seen), default=NO_READING) if seen else NO_READING
            track.door.clear()
            track.inside, track.last_inside, track.at_door = True, now, now
            track.arrived_at = now
            track.zone = self._zones.best(track, now) or zone
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

    def _heard_around(self, track: Track, scanner_id: str, now: float, near_door: bool) -> bool:
        """Heard at a usable level by several receivers within a moment: somewhere in the
        store (a phone on the pavement is heard through the glass by one or two at most).

        NB: a shopper behind a shelf or with the phone in a bag is heard weakly, but by
        most receivers several times a second; that is not the silence of someone gone.
        """
        tuning = self.tuning  # NB: the caller checked the level (heard_dbm)
        heard = track.heard_by
        heard[scanner_id] = now
        window = track.heard_window(tuning)
        count = 0
        for at in heard.values():
            if now - at <= window:
                count += 1
        # NB: just after the door, a walker on the pavement is heard through the glass by
        # two or three receivers: it takes one more to keep them in.
        needed = tuning.heard_scanners + (tuning.heard_after_door if near_door else 0)
        return count >= needed

    def _door_heard(self, track: Track, smoothed: float, level: float, now: float) -> None:
        """The door receiver heard a member inside: the crossing still, or near the door."""
        tuning = self.tuning
        door = max(smoothed, level - (tuning.door_raw_penalty_db if track.interval < 0.6 else 0.0))
        if now - track.arrived_at < tuning.door_grace_s:
            if track.door_ref > NO_READING:
                track.door_ref = max(track.door_ref, door)
        elif self._at_door(track, door):
            track.at_door = now

    def _at_door(self, track: Track, entrance: float) -> bool:
        """Near the door: the door receiver hears them about as well as when they walked in
        (``door_rel_db`` below that crossing's peak: this phone's own scale), or at
        ``door_dbm`` when the crossing was not heard; or they are in the entrance zone."""
        ref, tuning = track.door_ref, self.tuning
        if entrance >= (tuning.door_dbm if ref <= NO_READING else ref - tuning.door_rel_db):
            return True
        return self.tuning.door_by_zone and track.zone in self._entrance_zones

    def _entered(
        self, track: Track, scanner_id: str, smoothed: float, samples: float, now: float
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

    def _lingered(
        self, track: Track, role: str, smoothed: float, samples: float, now: float
    ) -> bool:
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

    def _near_door(self, track: Track) -> bool:
        """The door receiver heard them near shortly before the last in-store evidence.

        NB: the door they just came in by does not count: losing them soon after
        arriving (behind a shelf, phone in a bag) is not having left by it.
        """
        door = track.at_door
        if door - track.arrived_at < self.tuning.door_grace_s:
            return False
        return door >= track.last_inside - self.tuning.door_window_s

    def _still_inside(self, track: Track, now: float) -> bool:
        """Heard at all, just now, by ``leaving_heard_inside`` receivers that are not at the
        entrance: browsing the front of the shop, not walking away from it.

        NB: near the door without staying evidence is where the door rule used to let go
        of shoppers browsing the front of the shop, still heard every second; one who
        walked out soon drops out of the inside receivers' range, behind the glass.
        """
        needed = self.tuning.leaving_heard_inside
        if needed <= 0:
            return False
        window, entrances = track.heard_window(self.tuning), self._entrance_ids
        count = 0
        for scanner_id, reading in track.readings.items():
            if now - reading[1] <= window and scanner_id not in entrances:
                count += 1
        return count >= needed

    def _gone(self, track: Track, now: float) -> bool:
        """Departed: lost soon after passing the door, or lost anywhere for much longer.

        NB: a shopper deep in the store whose signal drops (behind a shelf, phone in a
        bag) has not left: leaving means walking past the entrance scanner first.
        """
        lost = now - track.last_inside
        if self._near_door(track):
            return lost > track.timeout(self.tuning) and not self._still_inside(track, now)
        # NB: not seen leaving: still heard at all is still here, and the visit's own
        # silences are the measure (some stores lose a shopper for minutes at the back).
        tuning = self.tuning
        needed = min(tuning.depart_silent_max_s, max(tuning.depart_silent_s, 3.0 * track.max_gap))
        silent = now - max(track.last_faint, track.last_inside)
        wait = track.unseen_timeout(tuning, self._losses.floor)
        return lost > max(wait, needed) and silent > needed

    # --- timers ----------------------------------------------------------------------------

    def expire(self, now: float) -> list[str]:
        """Members whose inside-evidence ran out (to depart); forgets silent outsiders."""
        gone: list[str] = []
        tuning = self.tuning
        # NB: no departure rule fires sooner than this after the last inside evidence
        # (Track.timeout is at least min(depart_min_s, depart_max_s)): skip the rules.
        soonest = min(tuning.depart_min_s, tuning.depart_max_s, tuning.depart_unseen_min_s)
        for customer_id, track in list(self._tracks.items()):
            if track.inside:
                if now - track.last_inside > soonest and self._gone(track, now):
                    gone.append(customer_id)
                    del self._tracks[customer_id]
            elif now - track.last_heard > tuning.forget_outside_s:
                del self._tracks[customer_id]
        return gone
