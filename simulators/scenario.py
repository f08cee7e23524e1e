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

from simulators import population
from simulators.world import (
    COUNTER_SPOT,
    DOOR,
    KIOSK_SPOT,
    Device,
    MemberTruth,
    PathBuilder,
    World,
    device_for_profile,
    random_address,
)
from storeedge.core.adverts import EDDYSTONE_UUID

PAVEMENT_X = (-25.0, 45.0)


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


def _pick(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    roll, total = rng.random(), 0.0
    for kind, share in mix:
        total += share
        if roll < total:
            return kind
    return mix[-1][0]


def _pavement_y(rng: random.Random) -> float:
    return rng.uniform(-4.5, -1.2)


def shopper_path(rng: random.Random, at: float) -> PathBuilder:
    """Pavement -> door -> browse / kiosk / counter -> door -> pavement."""
    left = rng.random() < 0.5
    b = PathBuilder(at, (PAVEMENT_X[0] if left else PAVEMENT_X[1], _pavement_y(rng)), 1.0)
    b.speed = rng.uniform(1.0, 1.4)
    b.walk((DOOR[0] + rng.uniform(-0.5, 0.5), -1.0)).walk((DOOR[0], 1.0))
    b.walk((DOOR[0] + rng.uniform(-1, 1), 2.5))
    for _ in range(rng.randint(2, 5)):
        b.walk((rng.uniform(1.5, 18.5), rng.uniform(4.0, 18.5)))
        b.stay(rng.uniform(20, 150))  # browsing, often behind a shelf
    if rng.random() < 0.5:
        b.walk(KIOSK_SPOT).stay(rng.uniform(30, 120))
    if rng.random() < 0.5:
        b.walk((COUNTER_SPOT[0] - rng.uniform(0, 2), COUNTER_SPOT[1] - rng.uniform(0, 1)))
        b.stay(rng.uniform(60, 240))  # queueing and paying
    b.walk((DOOR[0] + rng.uniform(-1, 1), 2.5)).walk((DOOR[0], -1.0))
    away = PAVEMENT_X[0] if rng.random() < 0.5 else PAVEMENT_X[1]
    return b.walk((away, _pavement_y(rng)))


def passer_path(rng: random.Random, at: float) -> PathBuilder:
    """Along the pavement; some stop at the window, some brush past the open door."""
    left = rng.random() < 0.5
    xs = PAVEMENT_X if left else PAVEMENT_X[::-1]
    roll = rng.random()
    y = -0.6 if roll < 0.25 else _pavement_y(rng)
    b = PathBuilder(at, (xs[0], y), rng.uniform(1.0, 1.6))
    if roll < 0.15:  # window shopping, on either side of the door
        spot = rng.choice((rng.uniform(1.0, 7.5), rng.uniform(12.5, 19.0)))
        b.walk((spot, -0.6)).stay(rng.uniform(10, 60))
    return b.walk((xs[1], y))


def build(
    world: World, scenario: Scenario, seed: int, profiles: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Populates ``world``; returns the member profiles (shoppers then passers-by)."""
    rng = random.Random(seed)
    if profiles is None:
        profiles = population.members(scenario.shoppers + scenario.passers_by, seed + 1)
    span = max(1.0, scenario.duration_s - 1500.0)
    for n, raw in enumerate(profiles):
        shopper = n < scenario.shoppers
        at = scenario.start + rng.uniform(0, span if shopper else scenario.duration_s - 60)
        path = (shopper_path if shopper else passer_path)(rng, at).build()
        kind = _pick(rng, scenario.mix)
        device = device_for_profile(raw, path, rng, kind, scenario.rate_hz)
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
            )
        )
    _anonymous(world, scenario, rng)
    _beacons(world, scenario, rng)
    return profiles


def _anonymous(world: World, scenario: Scenario, rng: random.Random) -> None:
    for _ in range(scenario.anonymous):
        at = scenario.start + rng.uniform(0, scenario.duration_s - 60)
        make = shopper_path if rng.random() < 0.3 else passer_path
        path = make(rng, at).build()
        payload = {0x004C: bytes([0x10, 0x05]) + rng.randbytes(5)}  # Apple "Nearby" info
        world.add(
            Device(
                "anon", path, 2.0, -62.0 + rng.gauss(0, 3), rng.choice((0.0, 3.0, 6.0)),
                random_address(rng), manufacturer=payload, rotate_every=900.0,
            )
        )  # fmt: skip


def _beacons(world: World, scenario: Scenario, rng: random.Random) -> None:
    spots = [(2.0, 18.0), (18.0, 2.0), (10.0, 19.0), (1.0, 1.0)]
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
