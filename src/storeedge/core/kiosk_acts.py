"""The shopper's acts in an open personal space, each checked here before it counts.

Every act names the kiosk (from the page's own connection, never from its payload)
and the session it was shown; an act for a closed or replaced space is refused. The
SKU must be in this member's wishlist or this store's catalog, an order must be
theirs, quantities 1 to 10. What is decided becomes an event (through the outbox,
online or not) and, for the staff, an alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from storeedge.core.events import JSON
from storeedge.core.kiosk_desk import KioskDesk, handoff_text
from storeedge.core.kiosk_messages import ActResult, HandoffQr
from storeedge.core.kiosk_sessions import KioskSession
from storeedge.core.kiosk_space import MAX_CART_LINES, MAX_QTY
from storeedge.core.profiles import CustomerProfile, Line, Order
from storeedge.core.timefmt import format_time

FULFILMENTS: Final = ("ship_to_home", "other_store", "pickup_here")
RETURN_REASONS: Final = ("too_small", "too_large", "damaged", "not_as_described", "changed_mind")

Opened = tuple[KioskSession, CustomerProfile]


class KioskActs:
    def __init__(self, desk: KioskDesk) -> None:
        self._desk = desk

    def _space(self, kiosk_id: str, session_id: str, now: float) -> Opened | ActResult:
        session = self._desk.open_session(kiosk_id, session_id)
        if session is None:
            return ActResult(False, "no_space")
        profile = self._desk.profile(session.customer_id)
        if profile is None or not profile.consent.current(now):
            # NB: a profile gone is an erasure; one whose consent lapsed is not
            self._desk.close(kiosk_id, "erased" if profile is None else "consent_withdrawn", now)
            return ActResult(False, "no_space")
        self._desk.sessions.touch(kiosk_id, now)
        return session, profile

    def _known_sku(self, profile: CustomerProfile, sku: str) -> bool:
        return any(w.sku == sku for w in profile.wishlist) or self._desk.catalog.knows(sku)

    def _base(self, session: KioskSession) -> dict[str, JSON]:
        return {"kiosk_id": session.kiosk_id, "session_id": session.session_id}

    # --- touch, stay, close --------------------------------------------------------------------

    def touch(self, kiosk_id: str, session_id: str, now: float) -> ActResult:
        opened = self._space(kiosk_id, session_id, now)
        return opened if isinstance(opened, ActResult) else ActResult(True)

    def close_space(self, kiosk_id: str, session_id: str, now: float) -> ActResult:
        if self._desk.open_session(kiosk_id, session_id) is None:
            return ActResult(False, "no_space")
        self._desk.close(kiosk_id, "closed_by_member", now)
        return ActResult(True)

    # --- cart ------------------------------------------------------------------------------------

    def add_to_cart(
        self, kiosk_id: str, session_id: str, sku: str, qty: int, now: float
    ) -> ActResult:
        opened = self._space(kiosk_id, session_id, now)
        if isinstance(opened, ActResult):
            return opened
        session, profile = opened
        if not 1 <= qty <= MAX_QTY:
            return ActResult(False, "bad_quantity")
        if not self._known_sku(profile, sku):
            return ActResult(False, "unknown_product")
        cart = self._desk.members.cart(profile)
        if any(line.sku == sku for line in cart.lines):
            return ActResult(False, "already_in_cart")
        if len(cart.lines) >= MAX_CART_LINES:
            return ActResult(False, "cart_full")
        line = Line(sku, qty, self._desk.members.new_line_id(session.session_id))
        cart.lines.append(line)
        cart.version += 1
        self._cart_event("storeedge.cart.line_added", session, profile, cart.version, line, now)
        self._desk.refresh(kiosk_id, "cart_edit", now)
        return ActResult(True)

    def remove_line(self, kiosk_id: str, session_id: str, line_id: str, now: float) -> ActResult:
        opened = self._space(kiosk_id, session_id, now)
        if isinstance(opened, ActResult):
            return opened
        session, profile = opened
        cart = self._desk.members.cart(profile)
        line = next((x for x in cart.lines if x.line_id == line_id), None)
        if line is None:
            return ActResult(False, "unknown_line")
        cart.lines.remove(line)
        cart.version += 1
        self._cart_event("storeedge.cart.line_removed", session, profile, cart.version, line, now)
        self._desk.refresh(kiosk_id, "cart_edit", now)
        return ActResult(True)

    def _cart_event(
        self,
        event_type: str,
        session: KioskSession,
        profile: CustomerProfile,
        version: int,
        line: Line,
        now: float,
    ) -> None:
        data: dict[str, JSON] = {
            "customer_id": profile.customer_id,
            "cart_version": version,
            "line": {"line_id": line.line_id, "sku": line.sku, "qty": line.qty},
            **self._base(session),
        }
        self._desk.emit_event(self._desk.events.make(event_type, data, now))

    # --- endless aisle, returns, pickups --------------------------------------------------------

    def request_order(
        self, kiosk_id: str, session_id: str, sku: str, qty: int, fulfilment: str, now: float
    ) -> ActResult:
        opened = self._space(kiosk_id, session_id, now)
        if isinstance(opened, ActResult):
            return opened
        session, profile = opened
        if fulfilment not in FULFILMENTS:
            return ActResult(False, "bad_fulfilment")
        if not 1 <= qty <= MAX_QTY:
            return ActResult(False, "bad_quantity")
        if not self._known_sku(profile, sku):
            return ActResult(False, "unknown_product")
        data: dict[str, JSON] = {
            "customer_id": profile.customer_id,
            "lines": [{"sku": sku, "qty": qty}],
            "fulfilment": fulfilment,
            "request_id": self._desk.events.new_id(now),
            **self._base(session),
        }
        self._desk.emit_event(self._desk.events.make("storeedge.order.requested", data, now))
        return ActResult(True)

    def _order(self, profile: CustomerProfile, order_id: str) -> Order | None:
        return next((o for o in profile.orders if o.order_id == order_id), None)

    def request_return(  # noqa: PLR0911  # one early return per refusal reason reads best
        self,
        kiosk_id: str,
        session_id: str,
        order_id: str,
        skus: Sequence[str],
        reason: str,
        now: float,
    ) -> ActResult:
        opened = self._space(kiosk_id, session_id, now)
        if isinstance(opened, ActResult):
            return opened
        session, profile = opened
        order = self._order(profile, order_id)
        if order is None:
            return ActResult(False, "unknown_order")
        if order.returnable_until is None or order.returnable_until <= now:
            return ActResult(False, "not_returnable")
        asks = self._desk.members.asks(profile.customer_id)
        if order_id in asks.returns:
            return ActResult(False, "already_requested")
        if reason not in RETURN_REASONS:
            return ActResult(False, "bad_reason")
        chosen = set(skus)
        lines = [line for line in order.lines if line.sku in chosen]
        if not lines or len(chosen) != len(lines) or len(chosen) != len(skus):
            return ActResult(False, "bad_lines")
        data: dict[str, JSON] = {
            "order_id": order_id,
            "customer_id": profile.customer_id,
            "lines": [{"sku": line.sku, "qty": line.qty} for line in lines],
            "reason": reason,
            **self._base(session),
        }
        self._desk.emit_event(self._desk.events.make("storeedge.return.requested", data, now))
        asks.returns.add(order_id)
        self._desk.refresh(kiosk_id, "return", now)
        return ActResult(True)

    def pickup_here(self, kiosk_id: str, session_id: str, order_id: str, now: float) -> ActResult:
        """ "I'm here for my order": the ``pickup`` alert for the staff."""
        opened = self._space(kiosk_id, session_id, now)
        if isinstance(opened, ActResult):
            return opened
        session, profile = opened
        order = self._order(profile, order_id)
        if order is None:
            return ActResult(False, "unknown_order")
        if order.kind != "click_and_collect" or order.status != "ready":
            return ActResult(False, "not_ready")
        details = self._alert_details(session)
        details["order_id"] = order_id
        zone = self._desk.kiosks[kiosk_id].zone
        if not self._desk.raise_alert("pickup", profile.customer_id, zone, details, now):
            return ActResult(False, "not_alerted")
        self._desk.members.asks(profile.customer_id).pickups.add(order_id)
        self._desk.refresh(kiosk_id, "pickup", now)
        return ActResult(True)

    def call_advisor(self, kiosk_id: str, session_id: str, now: float) -> ActResult:
        opened = self._space(kiosk_id, session_id, now)
        if isinstance(opened, ActResult):
            return opened
        session, profile = opened
        asks = self._desk.members.asks(profile.customer_id)
        if asks.advisor_session == session.session_id:
            return ActResult(False, "already_called")
        zone = self._desk.kiosks[kiosk_id].zone
        details = self._alert_details(session)
        if not self._desk.raise_alert("advisor", profile.customer_id, zone, details, now):
            return ActResult(False, "not_alerted")
        asks.advisor_session = session.session_id
        self._desk.refresh(kiosk_id, "advisor", now)
        return ActResult(True)

    def _alert_details(self, session: KioskSession) -> dict[str, JSON]:
        # NB: the staff desk adds the member's name for the console (never in the event)
        return {"kiosk_id": session.kiosk_id, "source": "kiosk"}

    # --- continue on my phone ---------------------------------------------------------------------

    def handoff(self, kiosk_id: str, session_id: str, now: float) -> ActResult:
        opened = self._space(kiosk_id, session_id, now)
        if isinstance(opened, ActResult):
            return opened
        session, profile = opened
        handoff = self._desk.handoffs.issue(kiosk_id, profile.customer_id, session_id, now)
        data: dict[str, JSON] = {
            "customer_id": profile.customer_id,
            "token": handoff.token,
            "expires_at": format_time(handoff.expires_at),
            "cart_version": self._desk.members.cart(profile).version,
            **self._base(session),
        }
        self._desk.emit_event(self._desk.events.make("storeedge.kiosk.handoff_issued", data, now))
        kiosk = self._desk.kiosks[kiosk_id]
        payload = handoff_text(kiosk, handoff.token)
        self._desk.ui.show(HandoffQr(kiosk_id, payload, handoff.token, handoff.expires_at - now))
        return ActResult(True)
