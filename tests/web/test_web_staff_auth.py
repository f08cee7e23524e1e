"""Staff sign-in with the store PIN, and what the console allows without it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from webharness import STAFF_PIN, Stack

from storeedge.config import Settings


def sign_in(client: Any, name: str = "Marie", pin: str = STAFF_PIN) -> Any:
    return client.post("/staff/login", data={"name": name, "pin": pin})


def test_console_requires_sign_in(pin_settings: Settings, make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(pin_settings)
    client = stack.web.app.test_client()

    response = client.get("/staff")

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/login")
    login = client.get("/staff/login")
    assert login.status_code == 200
    assert 'name="pin"' in login.get_data(as_text=True)
    socket = stack.web.socketio.test_client(stack.web.app, namespace="/staff")
    assert not socket.is_connected("/staff")


def test_wrong_and_missing_pin(pin_settings: Settings, make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(pin_settings)
    client = stack.web.app.test_client()

    assert sign_in(client, pin="0000").status_code == 401
    assert sign_in(client, pin="").status_code == 400
    assert sign_in(client, name="").status_code == 400
    assert sign_in(client, name="x" * 33).status_code == 400
    assert client.post("/staff/login", data={}).status_code == 400
    assert client.post("/staff/login", data="garbage", content_type="text/plain").status_code == 400
    big = client.post("/staff/login", data={"name": "x" * 40_000, "pin": "1"})
    assert big.status_code == 413
    assert client.get("/staff").status_code == 303


def test_guessing_is_locked_out(pin_settings: Settings, make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(pin_settings)
    client = stack.web.app.test_client()

    for _ in range(5):
        assert sign_in(client, pin="1111").status_code == 401

    assert sign_in(client).status_code == 429


def test_signed_in_claims_are_recorded_under_the_session_name(
    pin_settings: Settings, make_stack: Callable[..., Stack], jean_profile: dict[str, Any]
) -> None:
    stack = make_stack(pin_settings)
    client = stack.web.app.test_client()

    response = sign_in(client)
    assert response.status_code == 303
    console = client.get("/staff")
    assert console.status_code == 200
    html = console.get_data(as_text=True)
    assert "Marie" in html
    assert "no-pin-banner" not in html

    stack.walk(jean_profile, "entrance", 1.0)
    socket = stack.web.socketio.test_client(
        stack.web.app, namespace="/staff", flask_test_client=client
    )
    assert socket.is_connected("/staff")
    alert_id = stack.open_alerts()[0].alert_id
    answer = socket.emit(
        "claim", {"alert_id": alert_id, "staff": "Mallory"}, namespace="/staff", callback=True
    )
    assert answer == {"ok": True}
    claimed = [r["args"][0] for r in socket.get_received("/staff") if r["name"] == "alert"]
    assert claimed[-1]["claimed_by"] == "Marie"


def test_sign_out(pin_settings: Settings, make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(pin_settings)
    client = stack.web.app.test_client()
    sign_in(client)

    assert client.post("/staff/logout").status_code == 303
    assert client.get("/staff").status_code == 303


def test_a_broken_pin_hash_fails_closed(
    web_settings: Settings, make_stack: Callable[..., Stack]
) -> None:
    broken = dataclasses.replace(
        web_settings, web=dataclasses.replace(web_settings.web, staff_pin_hash="2468")
    )
    stack = make_stack(broken)
    client = stack.web.app.test_client()

    assert sign_in(client, pin="2468").status_code == 401
    assert client.get("/staff").status_code == 303
    assert stack.web.app.test_client().get("/healthz").get_json()["staff_pin"] == "not set"


def test_login_page_redirects_when_no_pin_is_set(stack: Stack) -> None:
    response = stack.web.app.test_client().get("/staff/login")

    assert response.status_code == 303


def test_login_page_keeps_the_typed_name_escaped(
    pin_settings: Settings, make_stack: Callable[..., Stack]
) -> None:
    stack = make_stack(pin_settings)
    client = stack.web.app.test_client()

    kept = sign_in(client, name="Marie", pin="0000").get_data(as_text=True)
    hostile = sign_in(client, name="<script>x</script>", pin="0000").get_data(as_text=True)

    assert 'value="Marie"' in kept
    assert "<script>x" not in hostile
