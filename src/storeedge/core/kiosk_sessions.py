"""Kiosk sessions: a member's personal space on a kiosk, opened only by an explicit act.

A session opens when the member scans their member QR at the kiosk's scanner (or,
later, claims the kiosk's pairing QR from the app). It ends when the member walks
away (departure, or leaving the kiosk zone for long), when someone else opens a
session there, or after an idle warning that nobody answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from storeedge.core.events import JSON, Event, EventFactory
from storeedge.core.profiles import CustomerProfile, first_name
from storeedge.core.settings import KioskSettings

IDLE_GRACE_S = 15.0  # how long the "still there?" warning stays before the session closes


@dataclass(slots=True)
class KioskSession:
    session_id: str
    kiosk_id: str
    customer_id: str
    method: str  # qr | app
    started_at: float
    last_touch: float
    warned: bool = False


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
        session.last_touch, session.warned = at, False
        return True

    def due(self, at: float) -> tuple[list[str], list[str]]:
        """Kiosks to warn ("still there?") and kiosks whose session must now close."""
        warn: list[str] = []
        close: list[str] = []
        for kiosk_id, session in self._open.items():
            idle = at - session.last_touch
            limit = self._kiosks[kiosk_id].idle_s
            if idle >= limit + IDLE_GRACE_S:
                close.append(kiosk_id)
            elif idle >= limit and not session.warned:
                session.warned = True
                warn.append(kiosk_id)
        return warn, close

    def forget_customer(self, customer_id: str) -> None:
        for kiosk_id in [k for k, s in self._open.items() if s.customer_id == customer_id]:
            del self._open[kiosk_id]


def personal_space(
    profile: CustomerProfile, catalog: Mapping[str, Mapping[str, JSON]], now: float
) -> dict[str, JSON]:
    """What the kiosk shows once a session is open: web prices, stock and place here."""

    def product(sku: str) -> dict[str, JSON]:
        item = catalog.get(sku, {})
        return {
            "sku": sku,
            "name": item.get("name", sku),
            "price": item.get("price"),
            "currency": item.get("currency", "EUR"),
            "stock": item.get("stock"),
            "location": item.get("location"),
        }

    return {
        "first_name": first_name(profile.display_name),
        "language": profile.language,
        "tier": profile.tier,
        "points": profile.points,
        "wishlist": [product(w.sku) for w in profile.wishlist],
        "cart": {
            "version": profile.cart_version,
            "lines": [{**product(line.sku), "qty": line.qty} for line in profile.cart],
        },
        "pickups": [
            {"order_id": o.order_id, "point": o.pickup_point, "lines": len(o.lines)}
            for o in profile.ready_pickups()
        ],
        "returnable": [
            {
                "order_id": o.order_id,
                "until": o.returnable_until,
                "lines": [product(line.sku) for line in o.lines],
            }
            for o in profile.orders
            if o.returnable_until is not None and o.returnable_until > now
        ],
    }
