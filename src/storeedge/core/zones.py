"""Which zone of the store a member inside is in (memory only), for :mod:`presence`.

Zones follow the strongest smoothed receiver, switching only when a rival leads by
``zone_margin_db`` for ``zone_dwell_s``; ``kiosk`` and ``counter`` receivers claim only
a member who is close (``near_dbm``): being heard from the kiosk is not standing at it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from storeedge.core.settings import ScannerSettings
from storeedge.core.track import Change, Track
from storeedge.core.tuning import Tuning

NO_READING: Final = -200.0


class Zones:
    """The zone rules for the receivers of one store."""

    def __init__(self, scanners: Iterable[ScannerSettings], tuning: Tuning) -> None:
        listed = list(scanners)
        self._tuning = tuning
        self._zone_of = {s.id: s.zone for s in listed}
        self._near_only = {s.id for s in listed if s.role in ("kiosk", "counter")}

    def levels(self, track: Track, now: float) -> tuple[str | None, dict[str, float]]:
        """The strongest fresh receiver's zone, and each zone's strongest fresh level (one
        pass: it runs on every reading inside); kiosk and counter count only when close."""
        stale, near = self._tuning.stale_s, self._tuning.near_dbm
        zone_of, near_only = self._zone_of, self._near_only
        best, best_level = None, NO_READING
        levels: dict[str, float] = {}
        for scanner_id, reading in track.readings.items():
            level = reading[0]
            if now - reading[1] > stale or (level < near and scanner_id in near_only):
                level = NO_READING
            zone = zone_of[scanner_id]
            if level > levels.get(zone, NO_READING):
                levels[zone] = level
            if level > best_level:
                best, best_level = zone, level
        return best, levels

    def best(self, track: Track, now: float) -> str | None:
        return self.levels(track, now)[0]

    def rezone(self, track: Track, now: float) -> Change | None:
        """A move, once a rival zone has led by the margin for the dwell; else None."""
        best, levels = self.levels(track, now)
        if best is None or best == track.zone:
            track.rival = None
            return None
        current = NO_READING if track.zone is None else levels.get(track.zone, NO_READING)
        lead = levels[best] - current
        if lead < self._tuning.zone_margin_db:
            track.rival = None
            return None
        if track.rival != best:
            track.rival, track.rival_since = best, now
            return None
        if now - track.rival_since < self._tuning.zone_dwell_s:
            return None
        track.zone, track.rival = best, None
        return Change("move", best)
