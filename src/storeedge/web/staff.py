"""The staff console: sign-in, the console page and the ``/staff`` Socket.IO namespace.

Claims and resolutions go to the core through the gateway (on the core thread);
the core then signals the alert's new state to every console, so the
answer to the click and the broadcast cannot disagree.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, Final

from flask import Blueprint, redirect, request, session, url_for
from flask_socketio import ConnectionRefusedError as Refused
from flask_socketio import Namespace, join_room
from werkzeug.wrappers import Response

from storeedge.gateway import CoreBusyError, CoreGateway
from storeedge.web.auth import MAX_NAME, Verdict, clean_staff_name, signed_in_name
from storeedge.web.context import WebContext, context_of
from storeedge.web.pages import current_sid, page_language, render_page
from storeedge.web.sink import STAFF_NS, STAFF_ROOM

_LOGGER = logging.getLogger(__name__)

_ALERT_ID: Final = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_ORDER_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_CODE: Final = re.compile(r"^[0-9]{6,10}$")

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("")
def console() -> Response | str:
    ctx = context_of()
    name = signed_in_name(session, ctx.guard)
    if ctx.guard.required and name is None:
        return redirect(url_for("staff.login"), code=303)
    config = {"namespace": STAFF_NS, "pin_required": ctx.guard.required, "staff": name}
    return render_page(
        ctx, "staff.html", page_language("fr"), staff=config, staff_name=name, guard=ctx.guard
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    ctx = context_of()
    language = page_language("fr")
    if not ctx.guard.required:
        return redirect(url_for("staff.console"), code=303)
    if request.method == "GET":
        return _login_page(ctx, language)
    client = request.remote_addr or "?"
    typed = request.form.get("name", "")
    if ctx.guard.locked_out(client):
        return _login_page(ctx, language, "locked", typed), 429
    name = clean_staff_name(typed)
    pin = request.form.get("pin")
    if name is None or not isinstance(pin, str) or not pin:
        return _login_page(ctx, language, "missing", typed), 400
    verdict = ctx.guard.check(client, pin)  # NB: counted before the PIN is hashed
    if verdict is not Verdict.OK:
        return _login_page(ctx, language, verdict.error, name), verdict.status
    ctx.guard.sessions.open(session, name)
    session.permanent = True
    return redirect(url_for("staff.console", lang=language), code=303)


def _login_page(ctx: WebContext, language: str, error: str | None = None, name: str = "") -> str:
    shown = name[:MAX_NAME] if name.isprintable() else ""
    return render_page(ctx, "login.html", language, error=error, guard=ctx.guard, name=shown)


@bp.post("/logout")
def logout() -> Response:
    context_of().guard.sessions.revoke(session)  # NB: server-side: the old cookie is void
    return redirect(url_for("staff.login"), code=303)


class StaffNamespace(Namespace):  # type: ignore[misc]  # NB: flask_socketio is untyped
    def __init__(self, ctx: WebContext) -> None:
        super().__init__(STAFF_NS)
        self._ctx = ctx

    def on_connect(self, _auth: Any = None) -> None:
        guard = self._ctx.guard
        if guard.required and not guard.sessions.track_socket(session, current_sid()):
            raise Refused("sign-in required")
        join_room(STAFF_ROOM)

    def on_disconnect(self, _reason: Any = None) -> None:
        self._ctx.guard.sessions.forget_socket(current_sid())

    def on_sync(self, _data: Any = None) -> dict[str, Any]:
        """Send this console the present members and open alerts.

        NB: the snapshot is taken and queued on the core thread, after this console
        joined the room: every later signal reaches it after the snapshot.
        """
        sid = current_sid()
        core = self._ctx.core
        done, _, error = self._core(lambda: core.staff_sync(sid))
        return _answer(done, error)

    def on_claim(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, CoreGateway.claim_alert)

    def on_resolve(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, CoreGateway.resolve_alert)

    def on_hand_over(self, data: Any = None) -> dict[str, Any]:
        """Hand an order over: the code the app shows, typed (``proof: code``), or an
        override recorded under the clerk's name (``proof: staff``)."""
        request_or_error = _handover_request(data)
        if isinstance(request_or_error, str):
            return _answer(False, request_or_error)
        order_id, code, proof = request_or_error
        staff_id = self._staff_id(data)
        if staff_id is None:
            return _answer(False, self._nameless())
        sid, core = current_sid(), self._ctx.core
        done, refused, error = self._core(
            lambda: core.hand_over(order_id, code, proof, staff_id, sid)
        )
        if done and isinstance(refused, str):
            return _answer(False, refused)
        return _answer(done, error)

    def _act(self, data: Any, action: Callable[[CoreGateway, str, str], bool]) -> dict[str, Any]:
        if not isinstance(data, dict):
            return {"ok": False, "error": "bad_request"}
        alert_id = data.get("alert_id")
        if not isinstance(alert_id, str) or not _ALERT_ID.match(alert_id):
            return {"ok": False, "error": "bad_request"}
        staff_id = self._staff_id(data)
        if staff_id is None:
            return _answer(False, self._nameless())  # NB: every act is recorded under a name
        core = self._ctx.core
        done, changed, error = self._core(lambda: action(core, alert_id, staff_id))
        if done and changed is not True:
            return _answer(False, "not_open")  # unknown, already claimed or resolved
        return _answer(done, error)

    def _staff_id(self, data: dict[str, Any]) -> str | None:
        """Who acts: the signed-in clerk (None once signed out, revoked or past the shift),
        or, with no PIN configured, the name typed on the tablet (None when there is none:
        then nothing is done)."""
        if self._ctx.guard.required:
            return signed_in_name(session, self._ctx.guard)
        return clean_staff_name(data.get("staff"))

    def _nameless(self) -> str:
        return "signed_out" if self._ctx.guard.required else "name_required"

    def _core(self, work: Callable[[], object]) -> tuple[bool, object, str | None]:
        """Run one gateway act: (done, its value, error code)."""
        try:
            value = work()
        except CoreBusyError:
            _LOGGER.warning("core loop busy: staff request not done")
            return False, None, "busy"
        except Exception:  # NB: a failing action answers the tablet; it must not kill the thread
            _LOGGER.exception("staff request failed")
            return False, None, "internal"
        return True, value, None


def _handover_request(data: Any) -> tuple[str, str | None, str] | str:
    """(order_id, typed code or None, proof) from a console's request, or the error code."""
    if not isinstance(data, dict):
        return "bad_request"
    order_id, code, proof = data.get("order_id"), data.get("code"), data.get("proof")
    if not isinstance(order_id, str) or not _ORDER_ID.match(order_id):
        return "bad_request"
    if proof == "staff":
        return order_id, None, proof
    if proof != "code":
        return "bad_request"
    typed = "".join(code.split()) if isinstance(code, str) else ""
    return (order_id, typed, proof) if _CODE.match(typed) else "malformed"


def _answer(ok: bool, error: str | None) -> dict[str, Any]:
    return {"ok": True} if ok else {"ok": False, "error": error or "internal"}
