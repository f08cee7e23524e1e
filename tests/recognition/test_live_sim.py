"""`run --simulate`: the simulated scanners feed the real pipeline.

The scenarios are played on a manual clock (the source's ``now`` and ``sleep`` are
injected), so what is checked is what the scenario produces per second of its own
time, not how fast this machine happens to be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from storeedge.adapters.crypto import aes128_ecb
from storeedge.config import Settings
from storeedge.core.clock import ManualClock
from storeedge.core.pipeline import Pipeline
from storeedge.core.ports import AdvertRecord, ListSink, NullUi
from storeedge.core.profiles import parse_profile
from storeedge.simulators import live

T0 = 1_763_906_400.0


class Rig:
    def __init__(self, make_settings: Callable[..., Settings], scenario: str) -> None:
        settings = make_settings()
        population = live.population(scenario)
        self.clock = ManualClock(T0)
        self.sink = ListSink()
        self.pipeline = Pipeline(settings, self.clock, self.sink, NullUi(), aes128_ecb)
        self.pipeline.load_profiles(parse_profile(p) for p in population)
        self.source = live.SimulatedBle(
            settings, population, scenario, seed=1, now=self.clock.now, sleep=self._sleep
        )

    async def _sleep(self, seconds: float) -> None:
        """Simulated time passes; the pipeline's timers run as the live ticker would."""
        self.clock.advance(max(seconds, 0.0))
        self.pipeline.tick()
        await asyncio.sleep(0)

    def play(self, seconds: float) -> None:
        def deliver(record: AdvertRecord) -> None:
            self.pipeline.on_advert(record)

        async def main() -> None:
            task = asyncio.create_task(self.source.run(deliver))
            while self.clock.now() < T0 + seconds:
                await asyncio.sleep(0)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        asyncio.run(main())


def test_rush_keeps_at_least_20_events_per_second(make_settings: Callable[..., Settings]) -> None:
    rig = Rig(make_settings, "rush")
    rig.play(40.0)
    assert rig.source.healthy
    # NB: after a warm-up of 10 s (members are first heard, visits open), every 10 s window
    # of the scenario's own time carries at least 20 events a second.
    times = [e.time for e in rig.sink.events]
    for start in (T0 + 10.0, T0 + 20.0, T0 + 30.0):
        in_window = [t for t in times if start <= t < start + 10.0]
        assert len(in_window) / 10.0 >= 20.0, (start - T0, len(in_window))
    kinds = {e.type for e in rig.sink.events}
    assert {"storeedge.customer.arrived", "storeedge.customer.zone_changed"} <= kinds


def test_walk_plays_the_radio_world_on_the_configured_scanners(
    make_settings: Callable[..., Settings],
) -> None:
    rig = Rig(make_settings, "walk")
    rig.play(5.0)
    assert rig.source.delivered > 0
    assert "walk" in rig.source.detail
    assert rig.pipeline.counters["advert.unknown_scanner"] == 0
