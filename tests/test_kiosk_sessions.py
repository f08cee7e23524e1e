"""Kiosk sessions open on an explicit act and close when the member goes or goes idle."""

from __future__ import annotations

from typing import Any

from simulators.demo_data import CATALOG
from storeedge.config import KioskSettings
from storeedge.core.events import EventFactory
from storeedge.core.kiosk_sessions import IDLE_GRACE_S, KioskSessions, personal_space
from storeedge.core.profiles import parse_profile

KIOSK = KioskSettings(id="kiosk-1", zone="kiosk", idle_s=60.0)


def test_open_replace_and_end() -> None:
    sessions = KioskSessions((KIOSK,), EventFactory())
    started = sessions.open("kiosk-1", "C-1", "qr", 100.0)
    assert [e.type for e in started] == ["storeedge.kiosk.session_started"]
    replaced = sessions.open("kiosk-1", "C-2", "qr", 110.0)
    assert [e.type for e in replaced] == [
        "storeedge.kiosk.session_ended",
        "storeedge.kiosk.session_started",
    ]
    assert replaced[0].data["reason"] == "replaced"
    assert replaced[0].data["customer_id"] == "C-1"
    (ended,) = sessions.end_for_customer("C-2", "departed", 130.0)
    assert ended.data["reason"] == "departed"
    assert sessions.current("kiosk-1") is None


def test_idle_warning_then_close_unless_touched() -> None:
    sessions = KioskSessions((KIOSK,), EventFactory())
    sessions.open("kiosk-1", "C-1", "qr", 0.0)
    assert sessions.due(59.0) == ([], [])
    assert sessions.due(60.0) == (["kiosk-1"], [])
    assert sessions.due(61.0) == ([], [])  # warned once
    sessions.touch("kiosk-1", 65.0)  # "still here"
    assert sessions.due(65.0 + 60.0) == (["kiosk-1"], [])
    assert sessions.due(65.0 + 60.0 + IDLE_GRACE_S) == ([], ["kiosk-1"])


def test_personal_space_shows_web_price_stock_and_place(jean_profile: dict[str, Any]) -> None:
    space = personal_space(parse_profile(jean_profile), CATALOG, 1763906709.0)
    assert space["first_name"] == "Jean"
    assert space["points"] == 1240
    (wish,) = space["wishlist"]
    assert (wish["price"], wish["stock"], wish["location"]) == (29.99, 3, "Allée 4, Enfants")
    assert space["pickups"] == [{"order_id": "O-98121", "point": "counter-A", "lines": 1}]
    assert space["cart"]["version"] == 7


def test_unknown_sku_still_shows_something(jean_profile: dict[str, Any]) -> None:
    space = personal_space(parse_profile(jean_profile), {}, 0.0)
    assert space["wishlist"][0]["name"] == "ROBE-ROSE-8A"
    assert space["wishlist"][0]["stock"] is None
