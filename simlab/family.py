"""A family of random stores: every world is drawn whole from one seed.

:func:`draw` picks a store (size, door, pavement and its traffic, window shoppers,
shelves, one or two entrance receivers and where every receiver hangs), a radio
(path-loss exponent, per-phone bias, shadowing and its correlation time, fading,
glass, shelf and body losses, random and bursty packet loss, receiver
sensitivity) and a crowd (dwell from 1 to 40 minutes, 1 / 4 / 10 Hz phones,
address rotation). The ranges are documented in docs/presence.md; nothing in the
edge knows them, and nothing in the edge may be tuned to one draw.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from storeedge.simulators.radio import Point, RadioModel
from storeedge.simulators.scenario import Scenario
from storeedge.simulators.world import Layout, Scanner, Segment


@dataclass(frozen=True, slots=True)
class WorldSpec:
    seed: int
    layout: Layout
    radio: RadioModel
    scenario: Scenario

    def describe(self) -> str:
        lay, radio, sc = self.layout, self.radio, self.scenario
        doors = sum(1 for s in lay.scanners if s[2] == "entrance")
        return (
            f"{lay.width:.0f}x{lay.depth:.0f} m door {lay.door_width:.1f} m, "
            f"{doors} entrance rx, {len(lay.scanners)} rx, pavement "
            f"{-lay.pavement[1]:.1f}-{-lay.pavement[0]:.1f} m, n={radio.path_loss_exponent:.2f} "
            f"bias={radio.phone_bias_sigma_db:.1f} shadow={radio.shadow_sigma_db:.1f}dB/"
            f"{radio.shadow_corr_s:.1f}s glass={radio.glass_db:.0f} loss={radio.base_loss:.2f} "
            f"bursts={radio.burst_rate_hz:.2f}/s, {sc.passers_by} member passers-by, "
            f"window {sc.window_share:.2f}"
        )


def _spot(rng: random.Random, width: float, depth: float, y_min: float = 2.0) -> Point:
    return (round(rng.uniform(1.0, width - 1.0), 1), round(rng.uniform(y_min, depth - 1.0), 1))


def _shelves(rng: random.Random, width: float, depth: float) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for _ in range(rng.randint(0, 4)):
        x, y = rng.uniform(2.0, width - 2.0), rng.uniform(4.0, depth - 2.0)
        length = rng.uniform(2.0, 0.5 * max(width, depth))
        if rng.random() < 0.5:
            out.append(((x, y), (min(width - 1.0, x + length), y)))
        else:
            out.append(((x, y), (x, min(depth - 1.0, y + length))))
    return tuple(out)


def draw_layout(rng: random.Random) -> Layout:
    width, depth = rng.uniform(10.0, 30.0), rng.uniform(10.0, 30.0)
    door_width = rng.uniform(1.2, 3.0)
    door_x = rng.uniform(0.25 * width, 0.75 * width)
    near = rng.uniform(0.8, 2.0)
    pavement = (-(near + rng.uniform(1.5, 4.0)), -near)
    door_rx = (round(door_x + rng.uniform(-1.0, 1.0), 1), round(rng.uniform(0.5, 2.0), 1))
    scanners: list[Scanner] = [("entrance", "entrance", "entrance", door_rx)]
    if rng.random() < 0.5:
        inner = (round(door_x + rng.uniform(-1.5, 1.5), 1), round(rng.uniform(2.5, 5.0), 1))
        scanners.append(("entrance-in", "floor", "entrance", inner))
    floors = rng.randint(1, 3)
    scanners.extend(
        (f"floor-{n + 1}", "floor", "floor", _spot(rng, width, depth, 3.0)) for n in range(floors)
    )
    kiosk = (round(rng.uniform(1.0, width - 1.0), 1), round(rng.uniform(1.0, depth - 1.0), 1))
    counter = _spot(rng, width, depth, 0.5 * depth)
    scanners.append(("kiosk", "kiosk", "kiosk", kiosk))
    scanners.append(("counter", "counter", "counter", counter))
    return Layout(
        width=width,
        depth=depth,
        door_x=door_x,
        door_width=door_width,
        pavement=pavement,
        pavement_x=(-25.0, width + 25.0),
        window_y=-rng.uniform(0.3, 0.8),
        shelves=_shelves(rng, width, depth),
        scanners=tuple(scanners),
        kiosk_spot=(kiosk[0] + 0.6, kiosk[1] + 0.6),
        counter_spot=(counter[0] - 0.5, counter[1] - 1.0),
    )


def draw_radio(rng: random.Random) -> RadioModel:
    return RadioModel(
        path_loss_exponent=rng.uniform(1.8, 3.5),
        shadow_sigma_db=rng.uniform(2.0, 6.0),
        shadow_corr_s=rng.uniform(1.0, 5.0),
        rician_k=rng.uniform(0.5, 10.0),
        glass_db=rng.uniform(2.0, 12.0),
        shelf_db=rng.uniform(4.0, 12.0),
        base_loss=rng.uniform(0.1, 0.4),
        sensitivity_dbm=rng.uniform(-100.0, -93.0),
        phone_bias_sigma_db=rng.uniform(2.0, 6.0),
        body_max_db=rng.uniform(3.0, 10.0),
        burst_rate_hz=rng.uniform(0.005, 0.1),
        burst_mean_s=rng.uniform(0.5, 5.0),
        burst_loss=rng.uniform(0.7, 1.0),
    )


def draw(seed: int, duration_s: float = 3600.0, shoppers: int = 40) -> WorldSpec:
    """One whole world from ``seed``: layout, radio and crowd."""
    rng = random.Random(seed)
    layout = draw_layout(rng)
    radio = draw_radio(rng)
    scenario = Scenario(
        duration_s=duration_s,
        shoppers=shoppers,
        passers_by=rng.randint(60, 200),
        anonymous=rng.randint(30, 120),
        rates=(1.0, 4.0, 10.0),
        dwell_s=(60.0, 2400.0),
        window_share=rng.uniform(0.05, 0.3),
        window_s=(10.0, rng.uniform(30.0, 180.0)),
        near_share=rng.uniform(0.3, 0.6),
    )
    return WorldSpec(seed, layout, radio, scenario)
