"""The /staff namespace: snapshot, live arrivals and alerts, claim and resolve."""

from __future__ import annotations

from typing import Any

from webharness import Stack


def staff_client(stack: Stack, flask_client: Any = None) -> Any:
    client = stack.web.socketio.test_client(
        stack.web.app, namespace="/staff", flask_test_client=flask_client
    )
    assert client.is_connected("/staff")
    return client


def events(client: Any, name: str) -> list[Any]:
    return [r["args"][0] for r in client.get_received("/staff") if r["name"] == name]


def open_alert_id(stack: Stack) -> str:
    (alert,) = stack.open_alerts()
    return alert.alert_id


def test_snapshot_on_connect_shows_who_is_in(stack: Stack, jean_profile: dict[str, Any]) -> None:
    stack.walk_to_kiosk(jean_profile)
    client = staff_client(stack)

    assert client.emit("sync", namespace="/staff", callback=True) == {"ok": True}

    (snapshot,) = events(client, "snapshot")
    (jean,) = snapshot["present"]
    assert jean["display_name"] == "Jean"
    assert jean["tier"] == "gold"
    assert jean["pickups"] == ["O-98121"]
    (alert,) = snapshot["alerts"]
    assert alert["kind"] == "pickup"
    assert alert["order_id"] == "O-98121"


def test_arrival_and_alert_are_pushed_live(stack: Stack, jean_profile: dict[str, Any]) -> None:
    client = staff_client(stack)

    stack.walk(jean_profile, "entrance", 1.0)

    received = client.get_received("/staff")
    kinds = [r["name"] for r in received]
    assert kinds[:2] == ["arrival", "alert"]
    arrival = received[0]["args"][0]
    assert arrival["customer_id"] == "C-000123"
    assert arrival["zone"] == "entrance"


def test_claim_then_resolve_round_trip(stack: Stack, jean_profile: dict[str, Any]) -> None:
    stack.walk(jean_profile, "entrance", 1.0)
    alert_id = open_alert_id(stack)
    client, other = staff_client(stack), staff_client(stack)

    answer = client.emit(
        "claim", {"alert_id": alert_id, "staff": "Marie"}, namespace="/staff", callback=True
    )

    assert answer == {"ok": True}
    for console in (client, other):
        (claimed,) = events(console, "alert")
        assert claimed["state"] == "claimed"
        assert claimed["claimed_by"] == "Marie"

    again = other.emit(
        "claim", {"alert_id": alert_id, "staff": "Paul"}, namespace="/staff", callback=True
    )
    assert again == {"ok": False, "error": "not_open"}

    done = client.emit(
        "resolve", {"alert_id": alert_id, "staff": "Marie"}, namespace="/staff", callback=True
    )
    assert done == {"ok": True}
    (resolved,) = events(other, "alert")
    assert resolved["state"] == "resolved"
    assert stack.open_alerts() == []
    types = [e.type for e in stack.events.events]
    assert "storeedge.alert.claimed" in types
    assert "storeedge.alert.resolved" in types


def test_no_pin_a_name_is_required_before_acting(
    stack: Stack, jean_profile: dict[str, Any]
) -> None:
    stack.walk(jean_profile, "entrance", 1.0)
    alert_id = open_alert_id(stack)
    client = staff_client(stack)

    for nameless in ({"alert_id": alert_id}, {"alert_id": alert_id, "staff": "\x00" * 3}):
        answer = client.emit("claim", nameless, namespace="/staff", callback=True)
        assert answer == {"ok": False, "error": "name_required"}
    assert events(client, "alert") == []
    assert stack.open_alerts()[0].state == "open"

    answer = client.emit(
        "claim",
        {"alert_id": alert_id, "staff": "  Marie   Curie "},
        namespace="/staff",
        callback=True,
    )
    assert answer == {"ok": True}
    (claimed,) = events(client, "alert")
    assert claimed["claimed_by"] == "Marie Curie"


def test_bad_claims_are_answered_not_crashed(stack: Stack) -> None:
    client = staff_client(stack)
    bad_payloads: list[Any] = [
        None,
        "O-98121",
        [1, 2],
        {},
        {"alert_id": 5},
        {"alert_id": ""},
        {"alert_id": "../../etc"},
        {"alert_id": "x" * 65},
    ]
    for payload in bad_payloads:
        answer = client.emit("claim", payload, namespace="/staff", callback=True)
        assert answer == {"ok": False, "error": "bad_request"}, payload
    unknown = client.emit(
        "resolve", {"alert_id": "nope", "staff": "Marie"}, namespace="/staff", callback=True
    )
    assert unknown == {"ok": False, "error": "not_open"}


def test_departure_and_forget_reach_the_console(stack: Stack, jean_profile: dict[str, Any]) -> None:
    stack.walk(jean_profile, "entrance", 1.0)
    client = staff_client(stack)

    stack.leave("C-000123")

    assert events(client, "departure") == [{"customer_id": "C-000123"}]


def test_a_stalled_core_answers_busy(stack: Stack) -> None:
    client = staff_client(stack)
    stack.core.stop()

    answer = client.emit("sync", namespace="/staff", callback=True)

    assert answer == {"ok": False, "error": "busy"}
