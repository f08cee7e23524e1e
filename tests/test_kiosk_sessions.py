"""Kiosk sessions open on an explicit act and close when the member goes or goes idle."""

from __future__ import annotations

from storeedge.config import KioskSettings
from storeedge.core.events import EventFactory
from storeedge.core.kiosk_sessions import IDLE_GRACE_S, KioskSessions

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
