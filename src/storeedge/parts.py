"""Which parts the edge is built from: the half of the composition root that ``replay``
and ``record`` share with ``run``, kept light (no web server, no MQTT) so a replay
starts fast. ``storeedge.app`` wires the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storeedge.adapters.clock import SystemClock
from storeedge.adapters.crypto import aes128_ecb
from storeedge.core.clock import Clock
from storeedge.core.events import EventFactory
from storeedge.core.pipeline import Pipeline
from storeedge.core.ports import AdvertSource, EventSink, NullUi, QrSource, UiSink
from storeedge.core.profiles import CustomerProfile, parse_profile
from storeedge.core.settings import Settings


def build_pipeline(
    settings: Settings,
    clock: Clock,
    sink: EventSink,
    ui: UiSink | None = None,
    events: EventFactory | None = None,
    **parts: Any,
) -> Pipeline:
    """The recognition pipeline as ``run`` and ``replay`` both build it."""
    pipeline = Pipeline(settings, clock, sink, ui or NullUi(), aes128_ecb, events, **parts)
    pipeline.staff.kpi.day_start_of = local_day_start(settings.store.timezone)
    return pipeline


def local_day_start(timezone: str) -> Callable[[float], float]:
    """Midnight in the store's time zone before a Unix time (the staff figures' "today")."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")  # NB: an unknown zone name must not stop the service

    def start(at: float) -> float:
        local = datetime.fromtimestamp(at, zone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    return start


def device_sources(
    settings: Settings, simulate: str | None
) -> tuple[list[AdvertSource], list[CustomerProfile]]:
    """The BLE sources (and, when simulated, the members they play) for ``run``/``record``."""
    if simulate:
        return simulated_sources(settings, simulate)
    from storeedge.adapters import ble

    return ble.sources_for(settings), []


def simulated_sources(
    settings: Settings, scenario: str
) -> tuple[list[AdvertSource], list[CustomerProfile]]:
    """Simulated BLE devices for a scenario (``walk``: Jean; others: crowds)."""
    from storeedge.simulators import demo_data
    from storeedge.simulators.demo_walk import DemoWalk

    if scenario != "walk":
        from storeedge.simulators import live

        population = live.population(scenario)
        source = live.SimulatedBle(settings, population, scenario)
        return [source], [parse_profile(p) for p in population]
    member = demo_data.jean()
    walk = DemoWalk(settings, [member], aes128_ecb, SystemClock())
    return [walk], [parse_profile(member)]


def qr_sources(settings: Settings) -> list[QrSource]:
    """Every configured ``[[qr_scanners]]`` device (simulated ones are fed by the demo)."""
    from storeedge.adapters.qr_scanners import DeviceQrSource

    return [
        DeviceQrSource(q.id, q.kind, q.device)
        for q in settings.qr_scanners
        if q.kind in ("evdev", "serial") and q.device is not None
    ]
