"""Scenarios: who comes by, when, and how they move (with ground truth).

:func:`build` fills a :class:`~simulators.world.World` with shoppers,
passers-by, store beacons and anonymous phones over ``duration_s`` seconds, and
returns the member profiles. Members' devices are chosen by ``mix``:
``android`` (EID at ``rate_hz``), ``iphone`` (EID only while the app is open) or
``tag`` (a store-issued iBeacon).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from storeedge.core.adverts import EDDYSTONE_UUID
from storeedge.simulators import population
from storeedge.simulators.world import (
    CLASSIC,
    Device,
    Layout,
    MemberTruth,
    PathBuilder,
    World,
    device_for_profile,
    random_address,
)


@dataclass(frozen=True, slots=True)
class Scenario:
    duration_s: float = 3600.0
    shoppers: int = 40  # member shoppers
    passers_by: int = 100  # member passers-by (never enter)
    anonymous: int = 60  # non-member people (shoppers and passers-by)
    rate_hz: float = 4.0
    mix: tuple[tuple[str, float], ...] = (("android", 1.0),)
    beacons: int = 3
    start: float = 1_763_906_400.0
    dwell_s: tuple[float, float] | None = None  # None: the classic browse (2-5 spots)
    rates: tuple[float, ...] = ()  # Android rates drawn per phone (empty: rate_hz for all)
    window_share: float = 0.15  # passers-by who stop at the window...
    window_s: tuple[float, float] = (10.0, 60.0)  # ...this long
    near_share: float = 0.25  # passers-by who brush along the shop front


def _pick(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    roll, total = rng.random(), 0.0
    for kind, share in mix:
        total += share
        if roll < total:
            return kind
    return mix[-1][0]


def _pavement_y(rng: random.Random, layout: Layout) -> float:
    return rng.uniform(*layout.pavement)


def shopper_path(
    rng: random.Random, at: float, layout: Layout = CLASSIC, dwell: float | None = None
) -> PathBuilder:
    """Pavement -> door -> browse / kiosk / counter -> door -> pavement.

    With ``dwell`` (seconds), browsing goes on until that long has passed inside."""
    door, xs = layout.door_x, layout.pavement_x
    left = rng.random() < 0.5
    b = PathBuilder(at, (xs[0] if left else xs[1], _pavement_y(rng, layout)), 1.0)
    b.speed = rng.uniform(1.0, 1.4)
    b.walk((door + rng.uniform(-0.25, 0.25) * layout.door_width, -1.0)).walk((door, 1.0))
    b.walk((door + rng.uniform(-1, 1), 2.5))
    entered = b.knots[-1][0]
    if dwell is None:
        for _ in range(rng.randint(2, 5)):
            b.walk(layout.inside_spot(rng))
            b.stay(rng.uniform(20, 150))  # browsing, often behind a shelf
    else:
        budget = entered + dwell - 40.0
        while b.knots[-1][0] < budget:
            b.walk(layout.inside_spot(rng))
            b.stay(min(max(5.0, budget - b.knots[-1][0]), rng.uniform(20, 150)))
    if rng.random() < 0.5:
        b.walk(layout.kiosk_spot).stay(rng.uniform(30, 120) if dwell is None else 20.0)
    if rng.random() < 0.5:
        counter = layout.counter_spot
        b.walk((counter[0] - rng.uniform(0, 2), counter[1] - rng.uniform(0, 1)))
        b.stay(rng.uniform(60, 240) if dwell is None else 20.0)  # queueing and paying
    b.walk((door + rng.uniform(-1, 1), 2.5)).walk((door, -1.0))
    away = xs[0] if rng.random() < 0.5 else xs[1]
    return b.walk((away, _pavement_y(rng, layout)))


def passer_path(
    rng: random.Random, at: float, layout: Layout = CLASSIC, sc: Scenario | None = None
) -> PathBuilder:
    """Along the pavement; some stop at the window, some brush past the open door."""
    sc = sc or Scenario()
    left = rng.random() < 0.5
    xs = layout.pavement_x if left else layout.pavement_x[::-1]
    roll = rng.random()
    y = layout.window_y if roll < sc.near_share else _pavement_y(rng, layout)
    b = PathBuilder(at, (xs[0], y), rng.uniform(1.0, 1.6))
    if roll < sc.window_share:  # window shopping, on either side of the door
        half = layout.door_width / 2 + 0.5
        spot = rng.choice(
            (
                rng.uniform(0.5, max(0.6, layout.door_x - half)),
                rng.uniform(min(layout.width - 0.6, layout.door_x + half), layout.width - 0.5),
            )
        )
        b.walk((spot, layout.window_y)).stay(rng.uniform(*sc.window_s))
    return b.walk((xs[1], y))


def build(
    world: World, scenario: Scenario, seed: int, profiles: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Populates ``world``; returns the member profiles (shoppers then passers-by)."""
    rng = random.Random(seed)
    layout = world.layout
    if profiles is None:
        profiles = population.members(scenario.shoppers + scenario.passers_by, seed + 1)
    for n, raw in enumerate(profiles):
        shopper = n < scenario.shoppers
        if shopper:
            dwell = None if scenario.dwell_s is None else rng.uniform(*scenario.dwell_s)
            span = max(1.0, scenario.duration_s - (dwell or 1500.0) - 60.0)
            at = scenario.start + rng.uniform(0, span)
            path = shopper_path(rng, at, layout, dwell).build()
        else:
            at = scenario.start + rng.uniform(0, scenario.duration_s - 60)
            path = passer_path(rng, at, layout, scenario).build()
        kind = _pick(rng, scenario.mix)
        rate = rng.choice(scenario.rates) if scenario.rates else scenario.rate_hz
        device = device_for_profile(raw, path, rng, kind, rate, world.model)
        if device.kind == "iphone":
            crossings = path.door_crossings()
            first = crossings[0][0] if crossings else path.start
            device.app_open = [(first - 5.0, first + rng.uniform(20, 90))]
            device.rate_hz = 10.0
        world.add(device)
        world.truth.append(
            MemberTruth(
                str(raw["customer_id"]),
                device.kind,
                device.rate_hz,
                "shopper" if shopper else "passer-by",
                path.door_crossings(),
                path,
                layout,
            )
        )
    _anonymous(world, scenario, rng)
    _beacons(world, scenario, rng)
    return profiles


def _anonymous(world: World, scenario: Scenario, rng: random.Random) -> None:
    for _ in range(scenario.anonymous):
        at = scenario.start + rng.uniform(0, scenario.duration_s - 60)
        if rng.random() < 0.3:
            path = shopper_path(rng, at, world.layout).build()
        else:
            path = passer_path(rng, at, world.layout, scenario).build()
        payload = {0x004C: bytes([0x10, 0x05]) + rng.randbytes(5)}  # Apple "Nearby" info
        world.add(
            Device(
                "anon", path, 2.0, -62.0 + rng.gauss(0, 3), rng.choice((0.0, 3.0, 6.0)),
                random_address(rng), manufacturer=payload, rotate_every=900.0,
            )
        )  # fmt: skip


def _beacons(world: World, scenario: Scenario, rng: random.Random) -> None:
    w, d = world.layout.width, world.layout.depth
    spots = [(0.1 * w, 0.9 * d), (0.9 * w, 0.1 * d), (0.5 * w, 0.95 * d), (0.05 * w, 0.05 * d)]
    for n in range(scenario.beacons):
        builder = PathBuilder(scenario.start, spots[n % len(spots)], 1.0)
        path = builder.stay(scenario.duration_s + 600).build()
        uid = bytes([0x00, 0xEB]) + bytes.fromhex("5354524545444745") + b"\x00\x42"
        uid += n.to_bytes(6, "big")
        device = Device(
            "beacon", path, 1.0, -70.0, 0.0, random_address(rng, static=True),
            payload={EDDYSTONE_UUID: uid},
        )  # fmt: skip
        device.battery_mv = 2400 if n == 0 else 2950  # the first one needs a new battery
        world.add(device)
