"""Anonymous footfall: how many distinct devices were in the store, per window.

Privacy by construction: the set of devices seen lives in memory for one window
only and is dropped when the window closes; only the count leaves this module.
Members are counted under their customer id (also memory only) so that their
address rotations inside a window do not count them twice. Nothing here logs or
returns an address.

What it counts is *devices heard inside*, not people: a shopper with a phone and
a watch counts twice, one whose phone rotates its address mid-window may count
twice, and a shopper with Bluetooth off is missed (docs/presence.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DEFAULT_WINDOW_S: Final = 300.0
ENTRANCE_DBM: Final = -67.0  # an entrance scanner counts only devices that come this close
INSIDE_DBM: Final = -80.0  # other scanners count devices heard this well


@dataclass(frozen=True, slots=True)
class FootfallCount:
    window_start: float
    window_s: float
    visitors: int


class Footfall:
    def __init__(self, window_s: float = DEFAULT_WINDOW_S) -> None:
        self.window_s = window_s
        self._start: float | None = None
        self._seen: set[str] = set()

    def observe(self, device: str, level: float, entrance: bool, now: float) -> None:
        """A device heard at ``level`` (normalised dBm); ``device`` is forgotten at roll-over."""
        if level < (ENTRANCE_DBM if entrance else INSIDE_DBM):
            return
        if self._start is None:
            self._start = self._window_of(now)
        self._seen.add(device)

    def _window_of(self, now: float) -> float:
        return (now // self.window_s) * self.window_s

    def roll(self, now: float) -> FootfallCount | None:
        """The count of the window that just closed, if one did."""
        if self._start is None or now < self._start + self.window_s:
            return None
        count = FootfallCount(self._start, self.window_s, len(self._seen))
        self._seen = set()  # NB: a new set, so no reference to the old members survives
        self._start = self._window_of(now)
        return count
