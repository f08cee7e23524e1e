"""Kiosk sessions: a member's personal space on a kiosk, opened only by an explicit act.

A session opens when the member scans their member QR at the kiosk's scanner (or,
claims the kiosk's pairing QR from the app). It ends when the member walks
away (departure, or leaving the kiosk zone for long), when someone else opens a
session there, or after an idle warning that nobody answered.
"""

from __future__ import annotations

from dataclasses import dataclass

from storeedge.core.events import Event, EventFactory
from storeedge.core.settings import KioskSettings

# How long the "still there?" warning stays before the space closes: WCAG 2.2.1 asks
# for at least 20 s to answer with a simple action.
IDLE_GRACE_S = 20.0


@dataclass(slots=True)
class KioskSession:
    session_id: str
    kiosk_id: str
    customer_id: str
    method: str  # qr | app
    started_at: float
    last_touch: float
    warned_at: float | None = None  # when the "still there?" warning went up


class KioskSessions:
    def __init__(self, kiosks: tuple[KioskSettings, ...], events: EventFactory) -> None:
        self._kiosks = {k.id: k for k in kiosks}
        self._events = events
        self._open: dict[str, KioskSession] = {}

    def kiosk(self, kiosk_id: str) -> KioskSettings | None:
        return self._kiosks.get(kiosk_id)

    def current(self, kiosk_id: str) -> KioskSession | None:
        return self._open.get(kiosk_id)

    def open(self, kiosk_id: str, customer_id: str, method: str, at: float) -> list[Event]:
        events = self.end(kiosk_id, "replaced", at)
        session = KioskSession(self._events.new_id(at), kiosk_id, customer_id, method, at, at)
        self._open[kiosk_id] = session
        events.append(
            self._events.make(
                "storeedge.kiosk.session_started",
                {
                    "kiosk_id": kiosk_id,
                    "session_id": session.session_id,
                    "customer_id": customer_id,
                    "method": method,
                },
                at,
            )
        )
        return events

    def end(self, kiosk_id: str, reason: str, at: float) -> list[Event]:
        session = self._open.pop(kiosk_id, None)
        if session is None:
            return []
        return [
            self._events.make(
                "storeedge.kiosk.session_ended",
                {
                    "kiosk_id": kiosk_id,
                    "session_id": session.session_id,
                    "customer_id": session.customer_id,
                    "reason": reason,
                    "duration_s": round(at - session.started_at, 1),
                },
                at,
            )
        ]

    def end_for_customer(self, customer_id: str, reason: str, at: float) -> list[Event]:
        events: list[Event] = []
        for kiosk_id in [k for k, s in self._open.items() if s.customer_id == customer_id]:
            events += self.end(kiosk_id, reason, at)
        return events

    def touch(self, kiosk_id: str, at: float) -> bool:
        session = self._open.get(kiosk_id)
        if session is None:
            return False
        session.last_touch, session.warned_at = at, None
        return True

    def due(self, at: float) -> tuple[list[str], list[str]]:
        """Kiosks to warn ("still there?") and kiosks whose session must now close.

        NB: a space never closes for idleness without its warning having been up for
        the whole grace time, however late the tick comes.
        """
        warn: list[str] = []
        close: list[str] = []
        for kiosk_id, session in self._open.items():
            if session.warned_at is not None:
                if at - session.warned_at >= IDLE_GRACE_S:
                    close.append(kiosk_id)
            elif at - session.last_touch >= self._kiosks[kiosk_id].idle_s:
                session.warned_at = at
                warn.append(kiosk_id)
        return warn, close

    def forget_customer(self, customer_id: str) -> None:
        for kiosk_id in [k for k, s in self._open.items() if s.customer_id == customer_id]:
            del self._open[kiosk_id]
