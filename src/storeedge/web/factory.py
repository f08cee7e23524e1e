"""The Flask application factory: one blueprint per screen group, one Namespace per screen.

``create_app`` builds a fresh app and Socket.IO server every time (tests build
many). It touches nothing global: serving is :mod:`storeedge.web.server`'s job.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any, ClassVar

from flask import Flask, Response, abort, jsonify, request, session
from flask_socketio import SocketIO
from werkzeug.exceptions import HTTPException

from storeedge.core.settings import Settings
from storeedge.gateway import CoreGateway
from storeedge.web import enrol, kiosk, staff
from storeedge.web.assets import kiosk_ui_dir, load_catalogs
from storeedge.web.auth import PinGuard, may_see_details
from storeedge.web.context import EXTENSION, HealthSections, WebContext, context_of
from storeedge.web.pages import render_page
from storeedge.web.sink import SocketUi

_LOGGER = logging.getLogger(__name__)

# NB: 'self' covers same-origin ws:// in current browsers; nothing is loaded from elsewhere.
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class WebConfig:
    """Production settings. ``SECRET_KEY`` is drawn per process when left empty:
    staff sign-ins then last until the service restarts, which is the intent."""

    SECRET_KEY: ClassVar[str | bytes | None] = None
    TESTING: ClassVar[bool] = False
    SESSION_COOKIE_HTTPONLY: ClassVar[bool] = True
    SESSION_COOKIE_SAMESITE: ClassVar[str] = "Strict"
    SESSION_COOKIE_NAME: ClassVar[str] = "storeedge_session"
    PERMANENT_SESSION_LIFETIME: ClassVar[timedelta] = timedelta(hours=12)  # one shift
    MAX_CONTENT_LENGTH: ClassVar[int] = 16 * 1024  # a sign-in form, nothing bigger
    SEND_FILE_MAX_AGE_DEFAULT: ClassVar[int] = 300


class TestConfig(WebConfig):
    TESTING: ClassVar[bool] = True
    SECRET_KEY: ClassVar[str | bytes | None] = "storeedge-tests-only"  # noqa: S105  # tests only


def create_app(
    settings: Settings,
    core: CoreGateway,
    config: type[WebConfig] = WebConfig,
) -> tuple[Flask, SocketIO]:
    ui_dir = kiosk_ui_dir()
    app = Flask(
        "storeedge.web",
        template_folder=str(ui_dir / "templates"),
        static_folder=str(ui_dir / "static"),
        static_url_path="/static",
    )
    app.config.from_object(config)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=settings.web.staff_shift_h)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_bytes(32)
    socketio = SocketIO(
        app,
        async_mode="threading",
        # NB: None is engineio's same-origin mode: Origin must match the Host header.
        cors_allowed_origins=None,
        transports=["websocket"],  # our own client speaks WebSocket only
        ping_interval=10,
        ping_timeout=10,
        max_http_buffer_size=16 * 1024,
        logger=False,
        engineio_logger=False,
    )
    ui = SocketUi(socketio)
    context = WebContext(
        settings=settings,
        core=core,
        ui=ui,
        ui_dir=ui_dir,
        catalogs=load_catalogs(ui_dir),
        guard=PinGuard(settings.web.staff_pin_hash),
        health=HealthSections(),
    )
    app.extensions[EXTENSION] = context
    context.guard.sessions.lifetime_s = settings.web.staff_shift_h * 3600  # one shift
    enrol.install(app, settings.data.dir, frozenset(k.id for k in settings.kiosks))
    app.register_blueprint(kiosk.bp)
    app.register_blueprint(staff.bp)
    app.add_url_rule("/healthz", "healthz", _healthz)
    app.before_request(_same_origin_posts)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    socketio.on_namespace(kiosk.KioskNamespace(context))
    socketio.on_namespace(staff.StaffNamespace(context))
    return app, socketio


def _healthz() -> tuple[Response, int]:
    ctx = context_of()
    core_ok = ctx.core.alive(timeout=1.0)  # NB: a stalled or stopped core is what this reports
    body: dict[str, Any] = {
        "status": "ok" if core_ok else "degraded",
        "core": "ok" if core_ok else "stalled",
        "store": ctx.settings.store.id,
        "edge": ctx.settings.store.edge_id,
        "kiosks": [k.id for k in ctx.settings.kiosks],
        "staff_pin": "set" if ctx.guard.required and not ctx.guard.broken else "not set",
        "screen_counters": dict(ctx.ui.counters),
    }
    sections, sections_ok = ctx.health.collect()
    body.update(sections)
    if not sections_ok:
        body["status"] = "degraded"
    if not may_see_details(session, ctx.guard):
        body = {"status": body["status"]}  # NB: the store network learns ok / degraded only
    return jsonify(body), 200 if core_ok else 503


def _same_origin_posts() -> None:
    """Forms post only from our own pages (a light CSRF guard next to SameSite cookies)."""
    if request.method != "POST":
        return
    origin = request.headers.get("Origin")
    if origin is not None and origin != request.host_url.rstrip("/"):
        abort(403, description="cross-origin form")


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # NB: not "no-referrer": Chromium then sends "Origin: null" on our own form posts.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.path != "/healthz" and not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _http_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    if code >= 500:
        _LOGGER.error("HTTP %s on %s", code, request.path)
    ctx = context_of()
    page = render_page(ctx, "error.html", "fr", code=code, reason=error.name)
    return page, code
