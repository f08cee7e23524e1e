"""Fixtures for the recognition tests: a pipeline on a ManualClock with Jean enrolled."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from storeedge.adapters.crypto import aes128_ecb
from storeedge.config import Settings
from storeedge.core.adverts import EDDYSTONE_UUID
from storeedge.core.clock import ManualClock
from storeedge.core.eid import beacon_time, compute_eid
from storeedge.core.pipeline import Pipeline
from storeedge.core.ports import AdvertRecord, ListSink
from storeedge.core.profiles import EidKey, parse_profile
from storeedge.core.screens import ScreenMessage

T0 = 1_763_906_400.0  # 2025-11-23T14:00:00Z, inside one K=10 window for a while
JEAN_KEY = bytes(range(16))


class RecordingUi:
    def __init__(self) -> None:
        self.messages: list[ScreenMessage] = []

    def show(self, message: ScreenMessage) -> None:
        self.messages.append(message)


@dataclass
class Rig:
    settings: Settings
    clock: ManualClock
    sink: ListSink
    ui: RecordingUi
    pipeline: Pipeline

    def types(self) -> list[str]:
        return [e.type.removeprefix("storeedge.") for e in self.sink.events]

    def presence_events(self) -> list[tuple[str, str | None]]:
        return [
            (e.type.removeprefix("storeedge.customer."), e.data.get("zone"))
            for e in self.sink.events
            if e.type.startswith("storeedge.customer.")
        ]


def eid_frame(key: EidKey, t: float, tx0: int = -21) -> bytes:
    eid = compute_eid(
        aes128_ecb, key.identity_key, key.rotation_exponent, beacon_time(t, key.clock_offset)
    )
    return bytes([0x30, tx0 & 0xFF]) + eid


def advert(
    key: EidKey, t: float, scanner: str, rssi: int, address: str = "4A:00:00:00:00:01"
) -> AdvertRecord:
    return AdvertRecord(t, scanner, address, rssi, service_data={EDDYSTONE_UUID: eid_frame(key, t)})


@pytest.fixture
def rig(make_settings: Callable[..., Settings], jean_profile: dict[str, Any]) -> Rig:
    settings = make_settings()
    clock = ManualClock(T0)
    sink = ListSink()
    ui = RecordingUi()
    pipeline = Pipeline(settings, clock, sink, ui, aes128_ecb)
    pipeline.load_profiles([parse_profile(jean_profile)])
    return Rig(settings, clock, sink, ui, pipeline)


@pytest.fixture
def jean_key(jean_profile: dict[str, Any]) -> EidKey:
    key = parse_profile(jean_profile).ble
    assert isinstance(key, EidKey)
    return key


def feed(
    rig: Rig,
    key: EidKey,
    scanner: str,
    rssi: int,
    seconds: float,
    hz: float = 4.0,
    address: str = "4A:00:00:00:00:01",
) -> None:
    """``key``'s phone heard by ``scanner`` at ``rssi`` for ``seconds`` (ticks included)."""
    steps = round(seconds * hz)
    for _ in range(steps):
        rig.clock.advance(1.0 / hz)
        rig.pipeline.on_advert(advert(key, rig.clock.now(), scanner, rssi, address))
        rig.pipeline.tick()


def silence(rig: Rig, seconds: float) -> None:
    end = rig.clock.now() + seconds
    while rig.clock.now() < end:
        rig.clock.advance(0.25)
        rig.pipeline.tick()
