"""Staff alerts: raised by rules (a pickup is waiting, a VIP came in, a customer asked
for help), then claimed and resolved from the staff console.

The lifecycle is ``open -> claimed -> resolved``; an open alert nobody claimed for
``[alerts] escalate_after_s`` is *escalated* once (it stays claimable). Exactly one
claim wins: the book lives on the core thread, so a second claim finds the alert
already claimed and is refused. There is at most one unresolved alert per
``(kind, customer, order)``: a rule that raises it again gets ``None``. Alerts close
with a reason (``done`` by a clerk, ``handed_over``, ``departed``) and every
``resolved`` event says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from storeedge.core.events import JSON, Event, EventFactory
from storeedge.core.screens import AlertView

DONE: Final = "done"  # a clerk pressed "Done"
HANDED_OVER: Final = "handed_over"
DEPARTED: Final = "departed"

AlertKey = tuple[str, str | None, str | None]


@dataclass(slots=True)
class Alert:
    alert_id: str
    kind: str  # pickup | vip | advisor | beacon | outbox_*
    customer_id: str | None
    zone: str
    raised_at: float
    details: dict[str, JSON]
    state: str = "open"  # open | claimed | resolved
    claimed_by: str | None = None
    claimed_at: float | None = None
    escalated_at: float | None = None
    arrived_at: float | None = None  # the visit's start, for the arrival -> claim figure

    @property
    def key(self) -> AlertKey:
        """What makes two alerts the same one: kind, customer and order (or beacon; for an
        alert about no customer, its zone)."""
        subject = self.details.get("order_id") or self.details.get("beacon_id")
        if not isinstance(subject, str):
            subject = self.zone if self.customer_id is None else None
        return self.kind, self.customer_id, subject

    @property
    def order_id(self) -> str | None:
        order = self.details.get("order_id")
        return order if isinstance(order, str) else None

    @property
    def shown_state(self) -> str:
        """What the console shows: ``escalated`` is an open alert that waited too long."""
        if self.state == "open" and self.escalated_at is not None:
            return "escalated"
        return self.state

    def view(self) -> AlertView:
        return AlertView(
            alert_id=self.alert_id,
            kind=self.kind,
            customer_id=self.customer_id,
            zone=self.zone,
            raised_at=self.raised_at,
            state=self.shown_state,
            claimed_by=self.claimed_by,
            details=tuple(self.details.items()),
        )


class AlertBook:
    def __init__(self, events: EventFactory, escalate_after_s: float = 120.0) -> None:
        self._events = events
        self._alerts: dict[str, Alert] = {}
        self.escalate_after_s = escalate_after_s

    def open_alerts(self) -> list[Alert]:
        """Unresolved alerts, oldest first (the order the console keeps them in)."""
        return sorted(self._alerts.values(), key=lambda a: (a.raised_at, a.alert_id))

    def get(self, alert_id: str) -> Alert | None:
        return self._alerts.get(alert_id)

    def find(self, kind: str, customer_id: str | None, subject: str | None) -> Alert | None:
        for alert in self._alerts.values():
            if alert.key == (kind, customer_id, subject):
                return alert
        return None

    def _event(self, event_type: str, alert: Alert, at: float, **extra: JSON) -> Event:
        data: dict[str, JSON] = {
            "alert_id": alert.alert_id,
            "kind": alert.kind,
            "customer_id": alert.customer_id,
            "zone": alert.zone,
            **extra,
        }
        return self._events.make(event_type, data, at)

    def raise_alert(
        self,
        kind: str,
        customer_id: str | None,
        zone: str,
        at: float,
        details: dict[str, JSON] | None = None,
        arrived_at: float | None = None,
    ) -> tuple[Alert, Event] | None:
        """A new open alert and its ``raised`` event; ``None`` when the same one is open."""
        alert = Alert(
            self._events.new_id(at),
            kind,
            customer_id,
            zone,
            at,
            dict(details or {}),
            arrived_at=arrived_at,
        )
        if self.find(*alert.key) is not None:
            return None
        self._alerts[alert.alert_id] = alert
        extra: dict[str, JSON] = {k: v for k, v in alert.details.items() if k != "display_name"}
        return alert, self._event("storeedge.alert.raised", alert, at, **extra)

    def adopt(
        self, alert_id: str, kind: str, zone: str, at: float, details: dict[str, JSON]
    ) -> Alert:
        """Registers an alert whose ``raised`` event was already recorded elsewhere
        (the outbox's own trouble), so staff can claim and resolve it like any other."""
        alert = Alert(alert_id, kind, None, zone, at, details)
        self._alerts[alert_id] = alert
        return alert

    def claim(self, alert_id: str, staff_id: str, at: float) -> tuple[Alert, Event] | None:
        """The first claim of an open (or escalated) alert wins; every later one gets None."""
        alert = self._alerts.get(alert_id)
        if alert is None or alert.state != "open":
            return None
        alert.state, alert.claimed_by, alert.claimed_at = "claimed", staff_id, at
        extra: dict[str, JSON] = {"staff_id": staff_id}
        if alert.arrived_at is not None:
            extra["waited_s"] = round(max(0.0, at - alert.arrived_at), 3)
        return alert, self._event("storeedge.alert.claimed", alert, at, **extra)

    def resolve(
        self, alert_id: str, staff_id: str | None, at: float, reason: str = DONE
    ) -> tuple[Alert, Event] | None:
        alert = self._alerts.pop(alert_id, None)
        if alert is None:
            return None
        alert.state = "resolved"
        alert.details["closed_reason"] = reason  # NB: the consoles say why it went away
        extra: dict[str, JSON] = {"staff_id": staff_id, "reason": reason}
        return alert, self._event("storeedge.alert.resolved", alert, at, **extra)

    def close_for(
        self,
        customer_id: str,
        at: float,
        reason: str,
        order_id: str | None = None,
        staff_id: str | None = None,
    ) -> list[tuple[Alert, Event]]:
        """Resolve the customer's alerts (only that order's, when given) with ``reason``."""
        chosen = [
            a.alert_id
            for a in self.open_alerts()
            if a.customer_id == customer_id and (order_id is None or a.order_id == order_id)
        ]
        closed = [self.resolve(alert_id, staff_id, at, reason) for alert_id in chosen]
        return [c for c in closed if c is not None]

    def escalate_due(self, at: float) -> list[tuple[Alert, Event]]:
        """Open alerts unclaimed for ``escalate_after_s``: escalated once each."""
        out: list[tuple[Alert, Event]] = []
        for alert in self.open_alerts():
            waited = at - alert.raised_at
            due = alert.escalated_at is None and waited >= self.escalate_after_s
            if alert.state == "open" and due:
                alert.escalated_at = at
                extra: dict[str, JSON] = {"waited_s": round(waited, 3)}
                out.append((alert, self._event("storeedge.alert.escalated", alert, at, **extra)))
        return out

    def forget_customer(self, customer_id: str) -> None:
        for alert_id in [a.alert_id for a in self._alerts.values() if a.customer_id == customer_id]:
            self._alerts.pop(alert_id)
