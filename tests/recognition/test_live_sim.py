"""`run --simulate`: the live simulated scanners feed the real pipeline in real time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from simulators import live
from storeedge.adapters.clock import SystemClock
from storeedge.adapters.crypto import aes128_ecb
from storeedge.config import Settings
from storeedge.core.pipeline import Pipeline
from storeedge.core.ports import AdvertRecord, AdvertSource, ListSink, NullUi
from storeedge.core.profiles import parse_profile


async def _play(source: AdvertSource, pipeline: Pipeline, seconds: float) -> None:
    def deliver(record: AdvertRecord) -> None:
        pipeline.on_advert(record)

    async def ticker() -> None:
        while True:
            pipeline.tick()
            await asyncio.sleep(0.25)

    tasks = [asyncio.create_task(source.run(deliver)), asyncio.create_task(ticker())]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _rig(make_settings: Callable[..., Settings], scenario: str) -> tuple[Any, Pipeline, ListSink]:
    settings = make_settings()
    population = live.population(scenario)
    source = live.SimulatedBle(settings, population, scenario, seed=1)
    sink = ListSink()
    pipeline = Pipeline(settings, SystemClock(), sink, NullUi(), aes128_ecb)
    pipeline.load_profiles(parse_profile(p) for p in population)
    return source, pipeline, sink


def test_rush_keeps_at_least_20_events_per_second(make_settings: Callable[..., Settings]) -> None:
    source, pipeline, sink = _rig(make_settings, "rush")
    assert isinstance(source.scanner_ids, tuple)
    asyncio.run(_play(source, pipeline, 12.0))
    assert source.healthy
    times = sorted(e.time for e in sink.events)
    assert times, "no events"
    busy = [t for t in times if times[0] + 2.0 <= t <= times[0] + 10.0]
    assert len(busy) / 8.0 >= 20.0, len(busy)
    kinds = {e.type for e in sink.events}
    assert {"storeedge.customer.arrived", "storeedge.customer.zone_changed"} <= kinds


def test_walk_plays_the_radio_world_on_the_configured_scanners(
    make_settings: Callable[..., Settings],
) -> None:
    source, pipeline, _ = _rig(make_settings, "walk")
    asyncio.run(_play(source, pipeline, 2.0))
    assert source.delivered > 0
    assert "walk" in source.detail
    assert pipeline.counters["advert.unknown_scanner"] == 0
