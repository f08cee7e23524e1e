"""The clerk's side of the store: alerts raised by rules and requests, claims, handovers.

The pipeline hands this desk its events (an arrival, a departure, a tick, a pickup
code from the QR door, central's ``customer.checkin`` and ``alert.raise``) and the
desk decides the alerts, the handovers and the day's figures. It runs on the core
thread like everything in the pipeline.

Consent: alerts a *recognition* raises (a ready pickup, a VIP, when the member is
heard) need ``consent.staff_alerts``. An explicit ask by the member (the app's
"I'm here" with an order, a kiosk button) raises its alert on recognition consent
alone: the member asked to be served. Nothing is ever raised for a customer whose
recognition consent is off or expired, or who is unknown (erased).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Final

from storeedge.core.alerts import DEPARTED, DONE, HANDED_OVER, Alert, AlertBook
from storeedge.core.command_desk import OK, CommandDesk, CommandReply
from storeedge.core.events import JSON, Event, EventFactory
from storeedge.core.profiles import CustomerProfile, Order
from storeedge.core.qr import QrResult, QrVerifier
from storeedge.core.screens import AlertChanged, AlertView, ScreenMessage
from storeedge.core.settings import QrScannerSettings, Settings
from storeedge.core.staff_kpi import StaffKpi
from storeedge.core.staff_messages import HandedOver, HandoverRefused
from storeedge.core.visits import Visit, VisitBook

_LOGGER = logging.getLogger(__name__)

PROOFS: Final = ("qr", "code", "staff")
_KIND: Final = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_CODE: Final = re.compile(r"^[0-9]{6,10}$")
MAX_NOTE: Final = 200

Arrive = Callable[[CustomerProfile, str, str, float], None]


def _rejected(reason: str) -> CommandReply:
    return CommandReply("rejected", reason)


def _find_order(profile: CustomerProfile, order_id: str) -> Order | None:
    return next((o for o in profile.orders if o.order_id == order_id), None)


class StaffDesk:
    def __init__(
        self,
        settings: Settings,
        events: EventFactory,
        emit: Callable[[Event], None],
        show: Callable[[ScreenMessage], None],
        visits: VisitBook,
        profiles: Callable[[], Mapping[str, CustomerProfile]],
        arrive: Arrive,
        verifier: QrVerifier,
    ) -> None:
        self._events = events
        self._emit = emit
        self._show = show
        self._visits = visits
        self._profiles = profiles
        self._arrive = arrive
        self._verifier = verifier
        self.alerts = AlertBook(events, settings.alerts.escalate_after_s)
        self.kpi = StaffKpi()
        self.handed: dict[str, str] = {}  # order_id -> customer_id, handed over this run
        self._points = {p.id: p.name for p in settings.pickup_points}
        entrances = [s.zone for s in settings.scanners if s.role == "entrance"]
        self._door_zone = entrances[0] if entrances else "entrance"

    # --- wiring ---------------------------------------------------------------------------

    def register(self, commands: CommandDesk) -> None:
        commands.register("customer.checkin", self._checkin)
        commands.register("alert.raise", self._alert_raise)

    def publish(self, alert: Alert, event: Event) -> None:
        self._emit(event)
        self._show(AlertChanged(alert.view()))

    def _publish_all(self, changes: list[tuple[Alert, Event]]) -> None:
        for alert, event in changes:
            self.publish(alert, event)

    # --- rules ----------------------------------------------------------------------------

    def arrived(self, profile: CustomerProfile, visit: Visit, now: float) -> None:
        """A member came in: their ready pickups and, for a VIP, a ``vip`` alert."""
        if not profile.consent.staff_alerts:
            return
        for order in profile.ready_pickups():
            if order.order_id not in self.handed:
                self._raise_pickup(profile, order, visit.zone, now)
        if profile.vip:
            vip: dict[str, JSON] = {"display_name": profile.display_name}
            self._raise(profile, "vip", visit.zone, vip, now)

    def _raise(
        self, profile: CustomerProfile, kind: str, zone: str, details: dict[str, JSON], now: float
    ) -> Alert | None:
        visit = self._visits.get(profile.customer_id)
        arrived_at = visit.started_at if visit is not None else now
        raised = self.alerts.raise_alert(kind, profile.customer_id, zone, now, details, arrived_at)
        if raised is None:
            return None  # NB: the same alert is already open: one per (kind, customer, order)
        self.publish(*raised)
        return raised[0]

    def _raise_pickup(
        self, profile: CustomerProfile, order: Order, zone: str, now: float
    ) -> Alert | None:
        details: dict[str, JSON] = {
            "order_id": order.order_id,
            "display_name": profile.display_name,
            "pickup_point": order.pickup_point,
            "pickup_point_name": self._points.get(order.pickup_point or "", order.pickup_point),
            "lines": [{"sku": line.sku, "qty": line.qty} for line in order.lines],
        }
        return self._raise(profile, "pickup", zone, details, now)

    def raise_customer_alert(
        self, kind: str, customer_id: str, zone: str, details: Mapping[str, JSON], now: float
    ) -> AlertView | None:
        """An explicit ask by a member (a kiosk's "call an advisor", "I'm here for my
        order" with ``order_id`` in ``details``): the open alert for it, or None when the
        member may not be alerted on. Asking twice gives the same open alert."""
        profile = self._profiles().get(customer_id)
        if profile is None or not profile.consent.current(now) or not _KIND.match(kind):
            return None
        order_id = details.get("order_id")
        if kind == "pickup":
            order = _find_order(profile, order_id) if isinstance(order_id, str) else None
            if order is None or order not in profile.ready_pickups():
                return None
            if order.order_id in self.handed:
                return None
            alert = self._raise_pickup(profile, order, zone, now)
        else:
            extra: dict[str, JSON] = {"display_name": profile.display_name, **details}
            alert = self._raise(profile, kind, zone, extra, now)
        subject = order_id if isinstance(order_id, str) else None
        alert = alert or self.alerts.find(kind, customer_id, subject)
        return alert.view() if alert is not None else None

    def departed(self, customer_id: str, now: float) -> None:
        """The member left: their alerts close (``reason: departed``)."""
        self._publish_all(self.alerts.close_for(customer_id, now, DEPARTED))

    def tick(self, now: float) -> None:
        self._publish_all(self.alerts.escalate_due(now))

    def forget(self, customer_id: str) -> None:
        self.alerts.forget_customer(customer_id)
        self.handed = {k: v for k, v in self.handed.items() if v != customer_id}

    # --- clerks' acts ---------------------------------------------------------------------

    def claim(self, alert_id: str, staff: str, now: float) -> bool:
        result = self.alerts.claim(alert_id, staff, now)
        if result is None:
            return False
        alert, event = result
        self.publish(alert, event)
        if alert.arrived_at is not None:
            self.kpi.claimed(now - alert.arrived_at, now)
            self._show(self.kpi.figures(now))
        return True

    def resolve(self, alert_id: str, staff: str, now: float) -> bool:
        result = self.alerts.resolve(alert_id, staff, now, DONE)
        if result is None:
            return False
        self.publish(*result)
        return True

    def sync(self, connection: str, now: float) -> None:
        self._show(self.kpi.figures(now, connection))

    # --- handover -------------------------------------------------------------------------

    def pickup_scanned(
        self, scanner: QrScannerSettings, result: QrResult, profile: CustomerProfile, now: float
    ) -> None:
        """A verified pickup code at a QR scanner (the QR door calls this)."""
        if scanner.kiosk is not None:
            self._refuse("not_at_counter", scanner.zone, result.order_id, None)
            return
        order = _find_order(profile, result.order_id or "")
        reason = self._not_handable(order)
        if order is None or reason is not None:
            self._refuse(reason or "unknown_id", scanner.zone, result.order_id, None)
            return
        self._complete(profile, order, "qr", None, scanner.zone, now)

    def code_refused(self, scanner: QrScannerSettings, result: QrResult, _now: float) -> None:
        """A refused scan: a pickup code's refusal reaches the consoles with its reason."""
        if result.kind == "pickup":
            self._refuse(result.reason or "refused", scanner.zone, result.order_id, None)

    def hand_over(
        self, order_id: str, code: str | None, proof: str, staff: str, connection: str, now: float
    ) -> str | None:
        """A handover from the console: ``code`` typed by the clerk (``proof: code``) or an
        override by name (``proof: staff``). None when done, else the refusal's reason."""
        if proof not in ("code", "staff") or not _ID.match(order_id):
            return "bad_request"
        profile = next(
            (p for p in self._profiles().values() if _find_order(p, order_id) is not None), None
        )
        order = _find_order(profile, order_id) if profile is not None else None
        reason = "unknown_id" if profile is None else self._not_handable(order)
        if profile is not None and reason is None and not profile.consent.current(now):
            reason = "no_consent"  # NB: nothing of theirs is shown, a handover neither
        if proof == "code" and reason is None:
            if code is None or not _CODE.match(code):
                reason = "malformed"
            else:
                checked = self._verifier.verify(f"SE1:P:{order_id}:{code}", self._profiles(), now)
                reason = checked.reason
        if profile is None or order is None or reason is not None:
            refusal = reason or "unknown_id"
            self._refuse(refusal, "console", order_id, connection)
            return refusal
        self._complete(profile, order, proof, staff, "console", now)
        return None

    def _not_handable(self, order: Order | None) -> str | None:
        if order is None:
            return "unknown_id"
        if order.order_id in self.handed:
            return "already_handed_over"
        if order.kind != "click_and_collect" or order.status != "ready":
            return "not_ready"
        return None

    def _refuse(
        self, reason: str, where: str, order_id: str | None, connection: str | None
    ) -> None:
        _LOGGER.info("pickup code refused at %s: %s", where, reason)
        self._show(HandoverRefused(reason, where, order_id, connection))

    def _complete(
        self,
        profile: CustomerProfile,
        order: Order,
        proof: str,
        staff: str | None,
        where: str,
        now: float,
    ) -> None:
        # NB: first, so an arrival below raises no alert for this order
        self.handed[order.order_id] = profile.customer_id
        visit = self._visits.get(profile.customer_id)
        if visit is None:
            zone = where if where != "console" else self._door_zone
            self._arrive(profile, zone, "qr" if proof == "qr" else "staff", now)
            visit = self._visits.get(profile.customer_id)
        alert = self.alerts.find("pickup", profile.customer_id, order.order_id)
        started = alert.arrived_at if alert and alert.arrived_at is not None else None
        if started is None:
            started = visit.started_at if visit is not None else now
        waited = round(max(0.0, now - started), 3)
        data: dict[str, JSON] = {
            "order_id": order.order_id,
            "customer_id": profile.customer_id,
            "visit_id": visit.visit_id if visit is not None else None,
            "proof": proof,
            "staff_id": staff,
            "zone": where,
            "alert_id": alert.alert_id if alert is not None else None,
            "waited_s": waited,
        }
        self._emit(self._events.make("storeedge.pickup.handed_over", data, now))
        _LOGGER.info("order handed over proof=%s at %s", proof, where)
        self.kpi.handed_over(waited, now)
        self._publish_all(
            self.alerts.close_for(profile.customer_id, now, HANDED_OVER, order.order_id, staff)
        )
        self._show(
            HandedOver(order.order_id, profile.customer_id, profile.display_name, proof, staff)
        )
        self._show(self.kpi.figures(now))

    # --- central's commands (CONTRACTS 7) --------------------------------------------------

    def _member(self, data: Mapping[str, JSON], now: float) -> CustomerProfile | CommandReply:
        customer_id = data.get("customer_id")
        if not isinstance(customer_id, str) or not _ID.match(customer_id):
            return _rejected("customer_id: expected an id")
        profile = self._profiles().get(customer_id)
        if profile is None:
            return _rejected("unknown customer")
        if not profile.consent.current(now):
            return _rejected("customer has not consented")
        return profile

    def _checkin(self, data: Mapping[str, JSON], now: float) -> CommandReply:
        """``customer.checkin``: "I'm here" from the app; opens a visit ``via: app``."""
        profile = self._member(data, now)
        if isinstance(profile, CommandReply):
            return profile
        order_id = data.get("order_id")
        order: Order | None = None
        if order_id is not None:
            if not isinstance(order_id, str) or not _ID.match(order_id):
                return _rejected("order_id: expected an id")
            order = _find_order(profile, order_id)
            if order is None:
                return _rejected("unknown order")
            reason = self._not_handable(order)
            if reason is not None:
                return _rejected(f"order cannot be picked up: {reason}")
        if self._visits.get(profile.customer_id) is None:
            self._arrive(profile, self._door_zone, "app", now)
        visit = self._visits.get(profile.customer_id)
        if order is not None and visit is not None:
            self._raise_pickup(profile, order, visit.zone, now)  # NB: deduplicated
        return OK

    def _alert_raise(self, data: Mapping[str, JSON], now: float) -> CommandReply:
        """``alert.raise``: central asks the store to act (a VIP announced by the desk)."""
        kind, zone, note = data.get("kind"), data.get("zone"), data.get("note")
        if not isinstance(kind, str) or not _KIND.match(kind):
            return _rejected("kind: expected a short lowercase word")
        if zone is not None and (not isinstance(zone, str) or not _ID.match(zone)):
            return _rejected("zone: expected an id")
        if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
            return _rejected(f"note: expected at most {MAX_NOTE} characters")
        details: dict[str, JSON] = {"source": "central"}
        if note:
            details["note"] = note
        where = zone or self._door_zone
        if data.get("customer_id") is None:
            raised = self.alerts.raise_alert(kind, None, where, now, details)
            if raised is not None:
                self.publish(*raised)
            return OK
        profile = self._member(data, now)
        if isinstance(profile, CommandReply):
            return profile
        details["display_name"] = profile.display_name
        self._raise(profile, kind, where, details, now)
        return OK
