"""Staff alerts: raised by rules (a pickup is waiting, a VIP came in, a customer asked
for help), then claimed and resolved from the staff console."""

from __future__ import annotations

from dataclasses import dataclass

from storeedge.core.events import JSON, Event, EventFactory
from storeedge.core.screens import AlertView


@dataclass(slots=True)
class Alert:
    alert_id: str
    kind: str  # pickup | vip | advisor | beacon
    customer_id: str | None
    zone: str
    raised_at: float
    details: dict[str, JSON]
    state: str = "open"  # open | claimed | resolved
    claimed_by: str | None = None

    def view(self) -> AlertView:
        return AlertView(
            alert_id=self.alert_id,
            kind=self.kind,
            customer_id=self.customer_id,
            zone=self.zone,
            raised_at=self.raised_at,
            state=self.state,
            claimed_by=self.claimed_by,
            details=tuple(self.details.items()),
        )


class AlertBook:
    def __init__(self, events: EventFactory) -> None:
        self._events = events
        self._alerts: dict[str, Alert] = {}

    def open_alerts(self) -> list[Alert]:
        return [a for a in self._alerts.values() if a.state != "resolved"]

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
    ) -> tuple[Alert, Event]:
        alert = Alert(self._events.new_id(at), kind, customer_id, zone, at, details or {})
        self._alerts[alert.alert_id] = alert
        return alert, self._event("storeedge.alert.raised", alert, at)

    def adopt(
        self, alert_id: str, kind: str, zone: str, at: float, details: dict[str, JSON]
    ) -> Alert:
        """Registers an alert whose ``raised`` event was already recorded elsewhere
        (the outbox's own trouble), so staff can claim and resolve it like any other."""
        alert = Alert(alert_id, kind, None, zone, at, details)
        self._alerts[alert_id] = alert
        return alert

    def claim(self, alert_id: str, staff_id: str, at: float) -> tuple[Alert, Event] | None:
        alert = self._alerts.get(alert_id)
        if alert is None or alert.state != "open":
            return None
        alert.state, alert.claimed_by = "claimed", staff_id
        return alert, self._event("storeedge.alert.claimed", alert, at, staff_id=staff_id)

    def resolve(self, alert_id: str, staff_id: str, at: float) -> tuple[Alert, Event] | None:
        alert = self._alerts.get(alert_id)
        if alert is None or alert.state == "resolved":
            return None
        alert.state = "resolved"
        self._alerts.pop(alert_id)
        return alert, self._event("storeedge.alert.resolved", alert, at, staff_id=staff_id)

    def forget_customer(self, customer_id: str) -> None:
        for alert_id in [a.alert_id for a in self._alerts.values() if a.customer_id == customer_id]:
            self._alerts.pop(alert_id)
