"""The demo's simulator control page (``/demo``): a person plays Jean without hardware.

Not a production screen: only :mod:`storeedge.demo` registers this blueprint. Each
button does what the real thing would: "scans his member card" types Jean's current
member code into kiosk-1's (simulated) reader; "the app claims the pairing QR" has the
simulated central send ``pairing.claim`` over MQTT with the nonce the kiosk shows;
"walks away" ends his visit as a departure would.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from flask import Blueprint, Flask, Response, redirect, render_template_string, request, url_for

from storeedge.core.qr import totp
from storeedge.gateway import CoreBusyError, CoreGateway

_LOGGER = logging.getLogger(__name__)

KIOSK_ID: Final = "kiosk-1"
KIOSK_READER: Final = "kiosk-qr"

_PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>storeedge demo · simulator</title>
<link rel="stylesheet" href="{{ url_for('static', filename='css/base.css') }}"></head>
<body style="padding:2rem;max-width:46rem;margin:auto">
<h1>Demo simulator</h1>
<p>Not a store screen: it plays Jean and central so you can walk the kiosk journey.
Open the kiosk with the <code>kiosk:</code> URL <code>storeedge demo</code> printed (it
enrols that browser as {{ kiosk_id }}) and the <a href="{{ staff_url }}">staff
console</a> next to this page.</p>
{% if said %}<p role="status" style="padding:.8rem;background:#dcefe3">{{ said }}</p>{% endif %}
{% for name, label in actions %}
<form method="post" action="{{ url_for('demo_control.act', name=name) }}" style="margin:.6rem 0">
  <button class="btn btn-primary btn-block" type="submit">{{ label }}</button>
</form>
{% endfor %}
</body></html>
"""


@dataclass(frozen=True)
class DemoParts:
    core: CoreGateway
    member: dict[str, Any]
    now: Callable[[], float]
    send_command: Callable[[str, dict[str, Any]], str]


ACTIONS: Final = (
    ("scan", "Jean scans his member card at the kiosk"),
    ("forged", "Someone scans a forged member code"),
    ("claim", "Jean's app claims the kiosk's pairing QR"),
    ("walk_away", "Jean walks away"),
)


def member_code(member: dict[str, Any], now: float) -> str:
    secret = base64.b32decode(member["qr"]["totp_secret"])
    code = totp(secret, now, member["qr"]["period"], member["qr"]["digits"])
    return f"SE1:M:{member['customer_id']}:{code}"


def register(app: Flask, parts: DemoParts) -> None:
    bp = Blueprint("demo_control", __name__)

    @bp.get("/demo")
    def page() -> str:
        return render_template_string(
            _PAGE,
            actions=ACTIONS,
            said=request.args.get("said", ""),
            kiosk_id=KIOSK_ID,
            staff_url="/staff",
        )

    @bp.post("/demo/<name>")
    def act(name: str) -> Response:
        try:
            said = _act(parts, name)
        except CoreBusyError:
            said = "The edge is busy; try again."
        return redirect(url_for("demo_control.page", said=said), 303)  # type: ignore[return-value]  # NB: werkzeug's Response

    app.register_blueprint(bp)


def _act(parts: DemoParts, name: str) -> str:
    customer_id = parts.member["customer_id"]
    if name == "scan":
        refused = parts.core.qr_scanned(KIOSK_READER, member_code(parts.member, parts.now()))
        return f"Code refused: {refused}" if refused else "Jean's space is open on the kiosk."
    if name == "forged":
        refused = parts.core.qr_scanned(KIOSK_READER, f"SE1:M:{customer_id}:00000000")
        return f"Refused ({refused}): the kiosk shows a notice."
    if name == "claim":
        payload = parts.core.pairing_now(KIOSK_ID)
        if payload is None:
            return "The kiosk shows no pairing QR yet."
        nonce = payload.rsplit("/", 1)[1]
        data = {"kiosk_id": KIOSK_ID, "nonce": nonce, "customer_id": customer_id}
        parts.send_command("pairing.claim", data)
        return "Central sent pairing.claim for the QR the kiosk shows."
    if name == "walk_away":
        gone = parts.core.depart_member(customer_id, "demo_walked_away")
        return "Jean left: his space closed." if gone else "Jean was not in the store."
    return "Unknown action."
