"""The clock port. The core never reads the system time itself.

``now()`` is wall time in Unix seconds (for events and consent expiry);
``monotonic()`` orders things inside the process. Live, both come from the
system (``storeedge.adapters.clock``); in replay and tests, from a
:class:`ManualClock` that the recording or the test advances.
"""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock time, Unix seconds."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes back."""


class ManualClock:
    """A clock that only moves when told to (replay, simulators, tests)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._origin = start

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._origin

    def set(self, when: float) -> None:
        """Move to ``when``; a clock never goes back, so earlier times are ignored."""
        if when > self._now:  # noqa: PLR1730  # NB: not max(): a replay calls this per record
            self._now = when

    def advance(self, seconds: float) -> None:
        self._now += max(0.0, seconds)
