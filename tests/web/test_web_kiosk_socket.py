"""The /kiosk namespace: greetings reach the kiosk the member stands at, and only it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from webharness import Stack

from storeedge.config import Settings


def kiosk_client(stack: Stack, kiosk_id: str) -> Any:
    client = stack.kiosk_socket(kiosk_id)
    assert client.is_connected("/kiosk")
    return client


GREETING = ("greet", "clear")


def names(received: list[dict[str, Any]], only: tuple[str, ...] = GREETING) -> list[str]:
    """The names of what the kiosk received (by default: greeting traffic only)."""
    return [r["name"] for r in received if r["name"] in only]


def test_jean_at_the_kiosk_is_greeted_on_that_kiosk_only(
    stack: Stack, jean_profile: dict[str, Any]
) -> None:
    here, elsewhere = kiosk_client(stack, "kiosk-1"), kiosk_client(stack, "kiosk-2")

    stack.walk_to_kiosk(jean_profile)

    greetings = [r for r in here.get_received("/kiosk") if r["name"] == "greet"]
    assert greetings == [
        {"name": "greet", "args": [{"first_name": "Jean", "language": "fr"}], "namespace": "/kiosk"}
    ]
    assert "greet" not in names(elsewhere.get_received("/kiosk"))


def test_kiosk_gets_the_first_name_only(
    web_settings: Settings, make_stack: Callable[..., Stack], jean_profile: dict[str, Any]
) -> None:
    profile = {**jean_profile, "display_name": "Jean-Pierre  Dupont", "language": "en"}
    stack = make_stack(web_settings, [profile])
    client = kiosk_client(stack, "kiosk-1")

    stack.walk_to_kiosk(profile)

    greetings = [r for r in client.get_received("/kiosk") if r["name"] == "greet"]
    assert greetings[0]["args"] == [{"first_name": "Jean-Pierre", "language": "en"}]
    assert "Dupont" not in repr(greetings)


def test_clear_returns_to_idle_and_is_not_replayed(
    stack: Stack, jean_profile: dict[str, Any]
) -> None:
    client = kiosk_client(stack, "kiosk-1")
    stack.walk_to_kiosk(jean_profile)
    stack.leave("C-000123")
    assert names(client.get_received("/kiosk"))[-2:] == ["greet", "clear"]

    late = kiosk_client(stack, "kiosk-1")
    late.emit("sync", namespace="/kiosk")
    received = late.get_received("/kiosk")
    assert names(received) == ["clear"]
    assert "Jean" not in repr(received)


def test_a_kiosk_that_reconnects_gets_the_current_greeting(
    stack: Stack, jean_profile: dict[str, Any]
) -> None:
    stack.walk_to_kiosk(jean_profile)

    late = kiosk_client(stack, "kiosk-1")
    late.emit("sync", namespace="/kiosk")

    greetings = [r for r in late.get_received("/kiosk") if r["name"] in GREETING]
    assert greetings == [
        {"name": "greet", "args": [{"first_name": "Jean", "language": "fr"}], "namespace": "/kiosk"}
    ]


def test_departure_clears_the_kiosk(stack: Stack, jean_profile: dict[str, Any]) -> None:
    client = kiosk_client(stack, "kiosk-1")
    stack.walk_to_kiosk(jean_profile)
    client.get_received("/kiosk")

    stack.leave("C-000123")

    assert names(client.get_received("/kiosk")) == ["clear"]


def test_unknown_kiosk_is_refused(stack: Stack) -> None:
    for auth in ({"kiosk_id": "kiosk-9"}, {"kiosk_id": 7}, None):
        client = stack.web.socketio.test_client(stack.web.app, namespace="/kiosk", auth=auth)
        assert not client.is_connected("/kiosk")


def short_idle(settings: Settings, idle_s: float) -> Settings:
    kiosks = tuple(dataclasses.replace(k, idle_s=idle_s) for k in settings.kiosks)
    return dataclasses.replace(settings, kiosks=kiosks)


def test_an_old_greeting_is_not_replayed(
    web_settings: Settings, make_stack: Callable[..., Stack], jean_profile: dict[str, Any]
) -> None:
    stack = make_stack(short_idle(web_settings, 5.0))
    stack.walk_to_kiosk(jean_profile)
    stack.clock.advance(6.0)  # NB: the core judges age on its own clock

    late = kiosk_client(stack, "kiosk-1")
    late.emit("sync", namespace="/kiosk")

    assert names(late.get_received("/kiosk")) == ["clear"]
