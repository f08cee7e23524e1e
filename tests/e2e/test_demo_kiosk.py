"""The demo's simulator page walks the kiosk journey with no hardware: Jean's card at
kiosk-1's reader, his app claiming the pairing QR (over MQTT, through the simulated
central), and his leaving; each act reaches central as the contract's events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storeedge.demo import Demo

STAY_OUT = (("outside", 600.0),)  # NB: Jean's BLE walk stays out of the way


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(web_port=0, data_dir=tmp_path, script=STAY_OUT)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def sessions(demo: Demo, kind: str) -> list[dict[str, Any]]:
    return [e.event["data"] for e in demo.central.events_of(f"storeedge.kiosk.session_{kind}")]


def test_the_control_page_plays_jeans_card_app_and_leaving(demo: Demo) -> None:
    assert demo.edge is not None
    edge = demo.edge
    assert demo.central.wait_for(lambda _c: "C-000123" in edge.cache.profile_ids(), 10.0)
    http = demo.edge.web.app.test_client()
    page = http.get("/demo")
    assert page.status_code == 200
    assert b"Jean scans his member card at the kiosk" in page.data

    assert http.post("/demo/forged").status_code == 303
    assert http.post("/demo/scan").status_code == 303
    assert demo.central.wait_for(lambda _c: len(sessions(demo, "started")) == 1, 10.0)
    assert http.post("/demo/walk_away").status_code == 303
    assert demo.central.wait_for(lambda _c: len(sessions(demo, "ended")) == 1, 10.0)
    assert http.post("/demo/claim").status_code == 303
    assert demo.central.wait_for(lambda _c: len(sessions(demo, "started")) == 2, 10.0)

    started = sessions(demo, "started")
    assert [s["method"] for s in started] == ["qr", "app"]
    assert sessions(demo, "ended")[0]["reason"] == "departed"
    assert demo.edge.core.counters()["qr.refused.bad_code"] == 1
