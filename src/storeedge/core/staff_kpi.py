"""The clerk's number: arrival -> claim and arrival -> handover, today, against 2 minutes.

Samples are kept for the current store day only (the day boundary comes from an
injected function, so the core reads no time zone database itself); the figures
are the median and the 90th percentile (nearest rank).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

from storeedge.core.staff_messages import KpiFigures

TARGET_S: Final = 120.0
DAY_S: Final = 86400.0


def utc_day_start(at: float) -> float:
    """Midnight UTC before ``at`` (the default day boundary)."""
    return math.floor(at / DAY_S) * DAY_S


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


class StaffKpi:
    def __init__(
        self,
        day_start_of: Callable[[float], float] = utc_day_start,
        target_s: float = TARGET_S,
    ) -> None:
        self.day_start_of = day_start_of
        self.target_s = target_s
        self._day = float("-inf")
        self._claims: list[float] = []
        self._handovers: list[float] = []

    def _roll(self, at: float) -> None:
        day = self.day_start_of(at)
        if day != self._day:
            self._day = day
            self._claims.clear()
            self._handovers.clear()

    def claimed(self, waited_s: float, at: float) -> None:
        self._roll(at)
        self._claims.append(max(0.0, waited_s))

    def handed_over(self, waited_s: float, at: float) -> None:
        self._roll(at)
        self._handovers.append(max(0.0, waited_s))

    def figures(self, at: float, connection: str | None = None) -> KpiFigures:
        self._roll(at)
        return KpiFigures(
            connection=connection,
            target_s=self.target_s,
            claim_count=len(self._claims),
            claim_median_s=percentile(self._claims, 0.5),
            claim_p90_s=percentile(self._claims, 0.9),
            handover_count=len(self._handovers),
            handover_median_s=percentile(self._handovers, 0.5),
            handover_p90_s=percentile(self._handovers, 0.9),
            handover_within_target=sum(1 for s in self._handovers if s <= self.target_s),
        )
