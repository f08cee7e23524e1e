"""The kiosk screens: an HTTP page per kiosk and the ``/kiosk`` Socket.IO namespace.

A kiosk page connects with ``auth = {"kiosk_id": ...}`` and joins its kiosk's
room, so a greeting reaches the kiosk the member stands at and no other.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, session
from flask_socketio import ConnectionRefusedError as Refused
from flask_socketio import Namespace, join_room

from storeedge.core.settings import KioskSettings
from storeedge.gateway import CoreBusyError
from storeedge.web.context import WebContext, context_of
from storeedge.web.enrol import enrolled_kiosk_id, not_enrolled_page, require_enrolled_kiosk
from storeedge.web.pages import current_sid, page_language, render_page
from storeedge.web.sink import KIOSK_NS, kiosk_room

_LOGGER = logging.getLogger(__name__)

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
        _LOGGER.info("kiosk %s disconnected", session.get("kiosk_id"))
