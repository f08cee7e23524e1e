"""The kiosk watch: one kiosk_offline alert per long absence, on a manual clock."""

from __future__ import annotations

from storeedge.ops.wiring import KioskWatch, scanners_up


def test_an_absent_page_alerts_once_and_again_after_it_came_back() -> None:
    now = [0.0]
    connected = {"kiosk-1": False, "kiosk-2": True}
    alerts: list[tuple[str, str]] = []
    watch = KioskWatch(
        lambda: connected, lambda k, d: alerts.append((k, d)), 300, clock=lambda: now[0]
    )
    for t in (0, 100, 299):
        now[0] = t
        watch.check()
    assert alerts == []
    now[0] = 300
    watch.check()
    now[0] = 900
    watch.check()
    assert alerts == [("kiosk-1", "kiosk kiosk-1: no page connected for 300 s")]
    connected["kiosk-1"] = True
    now[0] = 901
    watch.check()
    connected["kiosk-1"] = False
    now[0] = 1201
    watch.check()
    assert len(alerts) == 2


def test_a_scanner_is_up_when_a_healthy_source_serves_it() -> None:
    up = scanners_up(["a", "b", "q"], [(("a",), True), (("b",), False), (("q",), True)])
    assert up == {"a": True, "b": False, "q": True}
    assert scanners_up(["a"], []) == {"a": False}
