"""Visits: one per customer stay, whichever door recognised them (BLE, QR, app, staff).

A visit gives exactly one ``customer.arrived`` and one ``customer.departed``;
a customer who leaves and comes back starts a new visit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storeedge.core.events import Event, EventFactory


@dataclass(slots=True)
class Visit:
    visit_id: str
    customer_id: str
    started_at: float
    zone: str
    via: str
    last_seen: float
    zones: list[str] = field(default_factory=list)


class VisitBook:
    """Open visits by customer, and the events their changes make."""

    def __init__(self, events: EventFactory) -> None:
        self._events = events
        self._open: dict[str, Visit] = {}

    def get(self, customer_id: str) -> Visit | None:
        return self._open.get(customer_id)

    def open_visits(self) -> list[Visit]:
        return list(self._open.values())

    def arrive(self, customer_id: str, zone: str, via: str, at: float) -> tuple[Visit, Event]:
        if customer_id in self._open:
            raise ValueError(f"{customer_id} already has an open visit")
        visit_id = self._events.new_id(at)
        event = self._events.make(
            "storeedge.customer.arrived",
            {"customer_id": customer_id, "visit_id": visit_id, "zone": zone, "via": via},
            at,
        )
        visit = Visit(visit_id, customer_id, at, zone, via, at, [zone])
        self._open[customer_id] = visit
        return visit, event

    def move(self, customer_id: str, zone: str, at: float) -> Event | None:
        visit = self._open.get(customer_id)
        if visit is None or visit.zone == zone:
            return None
        previous, visit.zone = visit.zone, zone
        visit.zones.append(zone)
        return self._events.make(
            "storeedge.customer.zone_changed",
            {
                "customer_id": customer_id,
                "visit_id": visit.visit_id,
                "zone": zone,
                "previous_zone": previous,
            },
            at,
        )

    def restore(self, visit: Visit) -> None:
        """A visit a previous run left open (the journal), back in the book to be departed."""
        self._open.setdefault(visit.customer_id, visit)

    def depart(
        self, customer_id: str, at: float, reason: str = "timeout", dwell_until: float | None = None
    ) -> Event | None:
        visit = self._open.pop(customer_id, None)
        if visit is None:
            return None
        until = at if dwell_until is None else dwell_until
        return self._events.make(
            "storeedge.customer.departed",
            {
                "customer_id": customer_id,
                "visit_id": visit.visit_id,
                "dwell_s": round(max(0.0, until - visit.started_at), 1),
                "last_zone": visit.zone,
                "reason": reason,
            },
            at,
        )

    def forget(self, customer_id: str) -> None:
        """Erasure: drop the visit without an event (central asked us to forget them)."""
        self._open.pop(customer_id, None)
