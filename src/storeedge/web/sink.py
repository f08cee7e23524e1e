"""The screens' side of the core's ``UiSink``: typed messages become Socket.IO events.

This is the one place where a :mod:`storeedge.core.screens` message turns into a
payload on the wire. Called on the core thread: an emit in threading mode only
queues a packet per client, so the core loop never waits on a slow tablet.
Messages addressed to one connection (a console's snapshot, a kiosk's current
state) are emitted here too, so they stay in order with everything else.

Privacy: a kiosk only ever receives what its message type carries (a greeting is
a first name and a language), and only in its own kiosk's room.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Final, assert_never
from urllib.parse import quote

from flask_socketio import SocketIO

from storeedge.core.kiosk_messages import (
    HandoffQr,
    IdleWarning,
    KioskMessage,
    KioskSnapshot,
    LinkState,
    Notice,
    OrderView,
    PairingQr,
    ProductView,
    SpaceClosed,
    SpaceOpened,
    SpaceUpdated,
    SpaceView,
    StoreMessage,
)
from storeedge.core.screens import (
    AlertChanged,
    AlertView,
    Greeting,
    KioskCleared,
    KioskState,
    MemberForgotten,
    MemberLeft,
    MemberPresent,
    MemberView,
    ScreenMessage,
    StaffSnapshot,
)
from storeedge.core.staff_messages import HandedOver, HandoverRefused, KpiFigures

_LOGGER = logging.getLogger(__name__)

KIOSK_NS: Final = "/kiosk"
STAFF_NS: Final = "/staff"
STAFF_ROOM: Final = "staff"


def kiosk_room(kiosk_id: str) -> str:
    return f"kiosk:{kiosk_id}"


def member_payload(member: MemberView) -> dict[str, Any]:
    return {
        "customer_id": member.customer_id,
        "visit_id": member.visit_id,
        "display_name": member.display_name,
        "zone": member.zone,
        "via": member.via,
        "since": member.since,
        "tier": member.tier,
        "vip": member.vip,
        "pickups": list(member.pickups),
    }


def alert_payload(alert: AlertView) -> dict[str, Any]:
    return {
        **dict(alert.details),
        "alert_id": alert.alert_id,
        "kind": alert.kind,
        "customer_id": alert.customer_id,
        "zone": alert.zone,
        "raised_at": alert.raised_at,
        "state": alert.state,
        "claimed_by": alert.claimed_by,
    }


def kpi_payload(kpi: KpiFigures) -> dict[str, Any]:
    return {
        "target_s": kpi.target_s,
        "claim": {
            "count": kpi.claim_count,
            "median_s": kpi.claim_median_s,
            "p90_s": kpi.claim_p90_s,
        },
        "handover": {
            "count": kpi.handover_count,
            "median_s": kpi.handover_median_s,
            "p90_s": kpi.handover_p90_s,
            "within_target": kpi.handover_within_target,
        },
    }


def greeting_payload(greeting: Greeting) -> dict[str, Any]:
    return {"first_name": greeting.first_name, "language": greeting.language}


def product_payload(product: ProductView) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "name": product.name,
        "price_minor": product.price_minor,
        "currency": product.currency,
        "stock": product.stock,
        "location": product.location,
        "orderable_elsewhere": product.orderable_elsewhere,
    }


def order_payload(order: OrderView) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "kind": order.kind,
        "status": order.status,
        "lines": [{**product_payload(p), "qty": qty} for p, qty in order.lines],
        "pickup_point": order.pickup_point,
        "ready_for_pickup": order.ready_for_pickup,
        "returnable": order.returnable,
        "return_requested": order.return_requested,
        "pickup_requested": order.pickup_requested,
    }


def space_payload(space: SpaceView) -> dict[str, Any]:
    """The open personal space, for its own kiosk only (strings go out as text)."""
    return {
        "session_id": space.session_id,
        "first_name": space.first_name,
        "language": space.language,
        "tier": space.tier,
        "points": space.points,
        "wishlist": [product_payload(p) for p in space.wishlist],
        "cart": {
            "version": space.cart_version,
            "lines": [
                {**product_payload(line.product), "line_id": line.line_id, "qty": line.qty}
                for line in space.cart
            ],
        },
        "orders": [order_payload(o) for o in space.orders],
        "advisor_called": space.advisor_called,
    }


def qr_image_url(kiosk_id: str, kind: str, secret: str) -> str:
    """Where the edge serves this QR as a PNG (storeedge.web.kiosk)."""
    return f"/kiosk/{quote(kiosk_id, safe='')}/qr/{kind}/{quote(secret, safe='')}.png"


def pairing_payload(pairing: PairingQr) -> dict[str, Any]:
    image = qr_image_url(pairing.kiosk_id, "pairing", pairing.nonce)
    return {"payload": pairing.payload, "image": image}


class SocketUi:
    """Implements ``storeedge.core.ports.UiSink``; thread-safe (Socket.IO emits are)."""

    def __init__(self, socketio: SocketIO) -> None:
        self._socketio = socketio
        self.counters: Counter[str] = Counter()

    def show(self, message: ScreenMessage) -> None:
        try:
            self._route(message)
        except Exception:  # NB: a screen problem must never raise into the core loop
            _LOGGER.exception("could not push %s to the screens", type(message).__name__)
            self.counters["screen.failed"] += 1

    def _kiosk(self, event: str, payload: dict[str, Any], to: str) -> None:
        self._socketio.emit(event, payload, namespace=KIOSK_NS, to=to)

    def _staff(self, event: str, payload: dict[str, Any], to: str = STAFF_ROOM) -> None:
        self._socketio.emit(event, payload, namespace=STAFF_NS, to=to)

    def _route(self, message: ScreenMessage) -> None:
        match message:
            case Greeting():
                self._kiosk("greet", greeting_payload(message), kiosk_room(message.kiosk_id))
            case KioskCleared():
                self._kiosk("clear", {}, kiosk_room(message.kiosk_id))
            case KioskState(greeting=greeting):
                if greeting is None:
                    self._kiosk("clear", {}, message.connection)
                else:
                    self._kiosk("greet", greeting_payload(greeting), message.connection)
            case MemberPresent():
                self._staff("arrival", member_payload(message.member))
            case MemberLeft():
                self._staff("departure", {"customer_id": message.customer_id})
            case MemberForgotten():
                self._staff("forget", {"customer_id": message.customer_id})
            case AlertChanged():
                self._staff("alert", alert_payload(message.alert))
            case StaffSnapshot():
                snapshot = {
                    "present": [member_payload(m) for m in message.members],
                    "alerts": [alert_payload(a) for a in message.alerts],
                }
                self._staff("snapshot", snapshot, message.connection)
            case KpiFigures() | HandoverRefused() | HandedOver():
                self._route_desk(message)
            case _:
                self._route_kiosk(message)

    def _route_kiosk(self, message: KioskMessage) -> None:
        """The personal space's messages (storeedge.core.kiosk_messages)."""
        match message:
            case SpaceOpened():
                self._kiosk("space", space_payload(message.space), kiosk_room(message.kiosk_id))
            case SpaceUpdated():
                update = {**space_payload(message.space), "why": message.why}
                self._kiosk("space_update", update, kiosk_room(message.kiosk_id))
            case SpaceClosed():
                self._kiosk(
                    "space_closed", {"reason": message.reason}, kiosk_room(message.kiosk_id)
                )
            case IdleWarning():
                self._kiosk(
                    "idle_warning", {"seconds": message.seconds}, kiosk_room(message.kiosk_id)
                )
            case Notice():
                notice = {"kind": message.kind, "key": message.key}
                self._kiosk("notice", notice, kiosk_room(message.kiosk_id))
            case PairingQr():
                self._kiosk("pairing", pairing_payload(message), kiosk_room(message.kiosk_id))
            case HandoffQr():
                handoff = {
                    "payload": message.payload,
                    "image": qr_image_url(message.kiosk_id, "handoff", message.token),
                    "expires_in_s": message.expires_in_s,
                }
                self._kiosk("handoff", handoff, kiosk_room(message.kiosk_id))
            case LinkState():
                self._kiosk("link", {"online": message.online}, kiosk_room(message.kiosk_id))
            case StoreMessage():
                self._kiosk("store_message", {"text": message.text}, kiosk_room(message.kiosk_id))
            case KioskSnapshot():
                to = message.connection
                if message.pairing is not None:
                    self._kiosk("pairing", pairing_payload(message.pairing), to)
                self._kiosk("link", {"online": message.online}, to)
                self._kiosk("store_message", {"text": message.store_message}, to)
            case _:  # NB: mypy proves every message type has an arm
                assert_never(message)

    def _route_desk(self, message: KpiFigures | HandoverRefused | HandedOver) -> None:
        """The staff desk's messages: the day's figures, handovers and their refusals."""
        match message:
            case KpiFigures(connection=connection):
                self._staff("kpi", kpi_payload(message), connection or STAFF_ROOM)
            case HandoverRefused(connection=connection):
                refused = {
                    "reason": message.reason,
                    "where": message.where,
                    "order_id": message.order_id,
                }
                self._staff("handover_refused", refused, connection or STAFF_ROOM)
            case HandedOver():
                handed = {
                    "order_id": message.order_id,
                    "customer_id": message.customer_id,
                    "display_name": message.display_name,
                    "proof": message.proof,
                    "staff": message.staff,
                }
                self._staff("handed_over", handed)
            case _:
                assert_never(message)
