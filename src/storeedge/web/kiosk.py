"""The kiosk screens: an HTTP page per kiosk, its QR images and the ``/kiosk`` namespace.

A kiosk page connects with ``auth = {"kiosk_id": ...}`` and joins its kiosk's
room, so a greeting or a personal space reaches the kiosk it belongs to and no
other. Every act of the page (add to cart, return, "I'm here"...) names the space it
was shown (``session``); the kiosk is always the connection's own, never the
payload's, and the core checks the act whole before anything counts. Each act is
acknowledged ``{"ok": true}`` or ``{"ok": false, "reason": ...}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from flask import Blueprint, Response, abort, session
from flask_socketio import ConnectionRefusedError as Refused
from flask_socketio import Namespace, join_room

from storeedge.core.kiosk_messages import ActResult
from storeedge.core.settings import KioskSettings
from storeedge.gateway import CoreBusyError, CoreGateway
from storeedge.web.context import WebContext, context_of
from storeedge.web.enrol import enrolled_kiosk_id, not_enrolled_page, require_enrolled_kiosk
from storeedge.web.pages import current_sid, page_language, render_page
from storeedge.web.qr_image import qr_png
from storeedge.web.sink import KIOSK_NS, kiosk_room

_LOGGER = logging.getLogger(__name__)

MAX_FIELD: Final = 64
MAX_RETURN_LINES: Final = 50
Act = Callable[[CoreGateway, str, str, dict[str, Any]], ActResult]

bp = Blueprint("kiosk", __name__)


@bp.get("/")
def home() -> str | tuple[str, int]:
    ctx = context_of()
    if not ctx.settings.kiosks:
        return render_page(ctx, "no_kiosk.html", page_language("fr"))
    enrolled = enrolled_kiosk_id()  # NB: the kiosk this browser is the screen of
    settings = ctx.kiosk(enrolled) if enrolled else None
    if settings is None or not require_enrolled_kiosk(settings.id):
        return not_enrolled_page(None)
    return _kiosk_page(ctx, settings)


@bp.get("/kiosk/<kiosk_id>")
def kiosk(kiosk_id: str) -> str | tuple[str, int]:
    ctx = context_of()
    settings = ctx.kiosk(kiosk_id)
    if settings is None:
        abort(404, description="unknown kiosk")
    if not require_enrolled_kiosk(kiosk_id):
        return not_enrolled_page(kiosk_id)
    return _kiosk_page(ctx, settings)


@bp.get("/kiosk/<kiosk_id>/qr/<kind>/<secret>.png")
def qr_image(kiosk_id: str, kind: str, secret: str) -> Response:
    """The pairing QR (while its nonce is current) or the hand-off QR (while valid)."""
    ctx = context_of()
    if ctx.kiosk(kiosk_id) is None or len(secret) > MAX_FIELD:
        abort(404)
    try:
        if kind == "pairing":
            payload = ctx.core.pairing_payload(kiosk_id, secret)
        elif kind == "handoff":
            payload = ctx.core.handoff_payload(kiosk_id, secret)
        else:
            abort(404)
    except CoreBusyError:
        abort(503)
    if payload is None:
        abort(404, description="this code is no longer shown")
    response = Response(qr_png(payload), mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


def _kiosk_page(ctx: WebContext, settings: KioskSettings) -> str:
    language = page_language(settings.language)
    config = {
        "kiosk_id": settings.id,
        "language": settings.language,
        "idle_s": settings.idle_s,
        "namespace": KIOSK_NS,
    }
    return render_page(ctx, "kiosk.html", language, kiosk=config)


class KioskNamespace(Namespace):  # type: ignore[misc]  # NB: flask_socketio is untyped
    def __init__(self, ctx: WebContext) -> None:
        super().__init__(KIOSK_NS)
        self._ctx = ctx

    def on_connect(self, auth: Any = None) -> None:
        kiosk_id = auth.get("kiosk_id") if isinstance(auth, dict) else None
        if not isinstance(kiosk_id, str) or self._ctx.kiosk(kiosk_id) is None:
            raise Refused("unknown kiosk")
        if not require_enrolled_kiosk(kiosk_id):
            raise Refused("not enrolled")
        session["kiosk_id"] = kiosk_id  # NB: Flask-SocketIO keeps a session per connection
        join_room(kiosk_room(kiosk_id))
        _LOGGER.info("kiosk %s connected", kiosk_id)

    def on_sync(self, _data: Any = None) -> None:
        """The page asks what to show now (after connecting or reconnecting)."""
        kiosk_id = session.get("kiosk_id")
        if isinstance(kiosk_id, str):
            try:
                self._ctx.core.kiosk_sync(kiosk_id, current_sid())
            except CoreBusyError:
                _LOGGER.warning("core loop busy: kiosk %s not synced", kiosk_id)

    def on_disconnect(self, _reason: Any = None) -> None:
        """The page lost its link: its open space closes (the page wipes it too)."""
        kiosk_id = session.get("kiosk_id")
        _LOGGER.info("kiosk %s disconnected", kiosk_id)
        if isinstance(kiosk_id, str):
            try:
                self._ctx.core.kiosk_link_lost(kiosk_id)
            except CoreBusyError:
                _LOGGER.warning("core loop busy: kiosk %s space not closed on disconnect", kiosk_id)

    # --- the shopper's acts in the open space ---------------------------------------------------

    def _act(self, data: Any, act: Act) -> dict[str, Any]:
        kiosk_id = session.get("kiosk_id")
        if not isinstance(kiosk_id, str):
            return {"ok": False, "reason": "no_kiosk"}
        if not isinstance(data, dict):
            return {"ok": False, "reason": "bad_request"}
        space = data.get("session")
        if not isinstance(space, str) or not 0 < len(space) <= MAX_FIELD:
            return {"ok": False, "reason": "bad_request"}
        try:
            result = act(self._ctx.core, kiosk_id, space, data)
        except BadFieldError:
            return {"ok": False, "reason": "bad_request"}
        except CoreBusyError:
            return {"ok": False, "reason": "busy"}
        return {"ok": result.ok, "reason": result.reason} if not result.ok else {"ok": True}

    def on_touch(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, lambda core, k, s, _d: core.touch(k, s))

    def on_stay(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, lambda core, k, s, _d: core.stay(k, s))

    def on_close_space(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, lambda core, k, s, _d: core.close_space(k, s))

    def on_add_to_cart(self, data: Any = None) -> dict[str, Any]:
        return self._act(
            data, lambda core, k, s, d: core.add_to_cart(k, s, _text(d, "sku"), _qty(d))
        )

    def on_remove_line(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, lambda core, k, s, d: core.remove_line(k, s, _text(d, "line_id")))

    def on_request_order(self, data: Any = None) -> dict[str, Any]:
        return self._act(
            data,
            lambda core, k, s, d: core.request_order(
                k, s, _text(d, "sku"), _qty(d), _text(d, "fulfilment")
            ),
        )

    def on_request_return(self, data: Any = None) -> dict[str, Any]:
        return self._act(
            data,
            lambda core, k, s, d: core.request_return(
                k, s, _text(d, "order_id"), _texts(d, "skus"), _text(d, "reason")
            ),
        )

    def on_pickup_here(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, lambda core, k, s, d: core.pickup_here(k, s, _text(d, "order_id")))

    def on_call_advisor(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, lambda core, k, s, _d: core.call_advisor(k, s))

    def on_handoff(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, lambda core, k, s, _d: core.handoff(k, s))


class BadFieldError(ValueError):
    """A field of a kiosk act has the wrong type or size."""


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_FIELD:
        raise BadFieldError(name)
    return value


def _texts(data: dict[str, Any], name: str) -> list[str]:
    values = data.get(name)
    if not isinstance(values, list) or not 0 < len(values) <= MAX_RETURN_LINES:
        raise BadFieldError(name)
    return [_text({"v": v}, "v") for v in values]


def _qty(data: dict[str, Any]) -> int:
    qty = data.get("qty", 1)
    if isinstance(qty, bool) or not isinstance(qty, int):
        raise BadFieldError("qty")
    return qty
