"""The /staff namespace's handover and figures: typed codes, overrides, refusals to one console."""

from __future__ import annotations

import base64
from typing import Any

from test_web_staff_socket import events, staff_client
from webharness import Stack

from storeedge.core.qr import totp


def typed_code(stack: Stack, profile: dict[str, Any]) -> str:
    qr = profile["qr"]
    secret = base64.b32decode(qr["totp_secret"])
    return totp(secret, stack.clock.now(), qr["period"], qr["digits"])


def received(client: Any) -> dict[str, list[Any]]:
    """Everything this console received so far, by event name (read once)."""
    out: dict[str, list[Any]] = {}
    for packet in client.get_received("/staff"):
        out.setdefault(packet["name"], []).append(packet["args"][0])
    return out


def hand_over(client: Any, **data: Any) -> Any:
    return client.emit("hand_over", data, namespace="/staff", callback=True)


def test_typed_code_hands_over_and_every_console_hears(
    stack: Stack, jean_profile: dict[str, Any]
) -> None:
    stack.walk(jean_profile, "entrance", 1.0)
    clerk, other = staff_client(stack), staff_client(stack)
    stack.clock.advance(40)

    wrong = hand_over(clerk, order_id="O-98121", proof="code", code="1234 5678", staff="Marie")
    assert wrong == {"ok": False, "error": "bad_code"}
    assert [r["reason"] for r in events(clerk, "handover_refused")] == ["bad_code"]
    assert "handover_refused" not in received(other)  # only the console that typed it

    code = typed_code(stack, jean_profile)
    answer = hand_over(clerk, order_id="O-98121", proof="code", code=code, staff="Marie")
    assert answer == {"ok": True}
    for console in (clerk, other):
        got = received(console)
        (handed,) = got["handed_over"]
        assert handed["order_id"] == "O-98121"
        assert handed["proof"] == "code"
        (resolved,) = got["alert"]
        assert (resolved["state"], resolved["closed_reason"]) == ("resolved", "handed_over")
        (kpi,) = got["kpi"]
        assert kpi["handover"]["count"] == 1
        assert kpi["handover"]["median_s"] >= 40
        assert kpi["target_s"] == 120
    event = next(e for e in stack.events.events if e.type == "storeedge.pickup.handed_over")
    assert event.data["staff_id"] == "Marie"

    again = hand_over(clerk, order_id="O-98121", proof="staff", staff="Marie")
    assert again == {"ok": False, "error": "already_handed_over"}


def test_override_is_recorded_under_the_clerks_name_and_needs_one(
    stack: Stack, jean_profile: dict[str, Any]
) -> None:
    stack.walk(jean_profile, "entrance", 1.0)
    clerk = staff_client(stack)
    assert hand_over(clerk, order_id="O-98121", proof="staff") == {
        "ok": False,
        "error": "name_required",
    }
    assert hand_over(clerk, order_id="O-98121", proof="staff", staff="Paul") == {"ok": True}
    event = next(e for e in stack.events.events if e.type == "storeedge.pickup.handed_over")
    assert (event.data["proof"], event.data["staff_id"]) == ("staff", "Paul")


def test_bad_handover_requests_are_answered(stack: Stack) -> None:
    clerk = staff_client(stack)
    cases: list[tuple[Any, str]] = [
        (None, "bad_request"),
        ({"order_id": "O-98121", "proof": "magic", "staff": "M"}, "bad_request"),
        ({"order_id": "../x", "proof": "staff", "staff": "M"}, "bad_request"),
        ({"order_id": "O-98121", "proof": "code", "code": "12ab", "staff": "M"}, "malformed"),
        ({"order_id": "O-98121", "proof": "code", "staff": "M"}, "malformed"),
        ({"order_id": "O-404", "proof": "staff", "staff": "M"}, "unknown_id"),
    ]
    for data, error in cases:
        answer = clerk.emit("hand_over", data, namespace="/staff", callback=True)
        assert answer == {"ok": False, "error": error}, data
    assert stack.events.events == []


def test_snapshot_is_followed_by_the_days_figures(stack: Stack) -> None:
    clerk = staff_client(stack)
    assert clerk.emit("sync", namespace="/staff", callback=True) == {"ok": True}
    names = [r["name"] for r in clerk.get_received("/staff")]
    assert names == ["snapshot", "kpi"]
