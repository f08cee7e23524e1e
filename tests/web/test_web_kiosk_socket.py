"""The /kiosk namespace: greetings reach the kiosk the member stands at, and only it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from webharness import Stack

from storeedge.config import Settings


def kiosk_client(stack: Stack, kiosk_id: str) -> Any:
    client = stack.web.socketio.test_client(
        stack.web.app, namespace="/kiosk", auth={"kiosk_id": kiosk_id}
    )
    assert client.is_connected("/kiosk")
    return client


def names(received: list[dict[str, Any]]) -> list[str]:
    return [r["name"] for r in received]


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


def test_kiosk_gets_the_first_name_only(stack: Stack) -> None:
    client = kiosk_client(stack, "kiosk-1")

    stack.signal(
        "kiosk.greet",
        {"kiosk_id": "kiosk-1", "display_name": "Jean-Pierre  Dupont", "language": "en"},
    )

    (greet,) = client.get_received("/kiosk")
    assert greet["args"] == [{"first_name": "Jean-Pierre", "language": "en"}]
    assert "Dupont" not in repr(greet)


def test_clear_returns_to_idle_and_is_not_replayed(stack: Stack) -> None:
    client = kiosk_client(stack, "kiosk-1")
    stack.signal("kiosk.greet", {"kiosk_id": "kiosk-1", "display_name": "Jean", "language": "fr"})
    stack.signal("kiosk.clear", {"kiosk_id": "kiosk-1"})
    assert names(client.get_received("/kiosk")) == ["greet", "clear"]

    late = kiosk_client(stack, "kiosk-1")
    late.emit("sync", namespace="/kiosk")
    received = late.get_received("/kiosk")
    assert names(received) == ["clear"]
    assert "Jean" not in repr(received)


def test_a_kiosk_that_reconnects_gets_the_current_greeting(stack: Stack) -> None:
    stack.signal("kiosk.greet", {"kiosk_id": "kiosk-1", "display_name": "Jean", "language": "fr"})

    late = kiosk_client(stack, "kiosk-1")
    late.emit("sync", namespace="/kiosk")

    assert late.get_received("/kiosk") == [
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


def test_malformed_signals_are_counted_not_raised(stack: Stack) -> None:
    client = kiosk_client(stack, "kiosk-1")

    stack.signal("kiosk.greet", {"kiosk_id": "kiosk-9", "display_name": "Jean"})
    stack.signal("kiosk.greet", {"kiosk_id": "kiosk-1", "display_name": "   "})
    stack.signal("kiosk.clear", {"kiosk_id": None})
    stack.signal("kiosk.dance", {})

    assert client.get_received("/kiosk") == []
    counters = stack.web.ui.counters
    assert counters["greet.rejected"] == 2
    assert counters["clear.rejected"] == 1
    assert counters["signal.unknown"] == 1


def short_idle(settings: Settings, idle_s: float) -> Settings:
    kiosks = tuple(dataclasses.replace(k, idle_s=idle_s) for k in settings.kiosks)
    return dataclasses.replace(settings, kiosks=kiosks)


def test_an_old_greeting_is_not_replayed(
    web_settings: Settings, make_stack: Callable[..., Stack]
) -> None:
    stack = make_stack(short_idle(web_settings, 0.05))
    stack.signal("kiosk.greet", {"kiosk_id": "kiosk-1", "display_name": "Jean", "language": "fr"})
    time.sleep(0.1)

    late = kiosk_client(stack, "kiosk-1")
    late.emit("sync", namespace="/kiosk")

    assert names(late.get_received("/kiosk")) == ["clear"]
