"""The technician's calibration walk in a simulated store (docs/operations.md).

The route, with the app in calibration mode (its own identity, 10 Hz): along the
middle of the pavement past the whole shop front, back along the glass with a stop
at the window on each side of the door, a moment in front of the door, in through
the door, 1 m from each receiver for 20 s, a few spots on the floor, out through
the door and away along the pavement; then in and out twice more. The technician
notes when each step starts (the steps file ``storeedge calibrate`` reads); here
the notes are the true times with a little human jitter. The phone is the kit's
reference phone, whose advertised Tx power is its real one.
"""

from __future__ import annotations

import math
import random
from typing import Any

from storeedge.simulators.population import member
from storeedge.simulators.world import Device, Layout, Path, PathBuilder, World, device_for_profile

CALIBRATION_RATE_HZ = 10.0
Step = tuple[float, str]  # (start time, "outside" | "door" | "inside" | "at:<scanner>" | "end")


def calibration_profile(seed: int) -> dict[str, Any]:
    raw = member(random.Random(seed), 999_999)
    raw["customer_id"] = "CAL-TECHNICIAN"
    raw["display_name"] = "Calibration"
    return raw


def _near(layout: Layout, pos: tuple[float, float]) -> tuple[float, float]:
    """1 m from a receiver, towards the middle of the shop (and never outside)."""
    cx, cy = layout.width / 2, layout.depth / 2
    dx, dy = cx - pos[0], cy - pos[1]
    norm = math.hypot(dx, dy) or 1.0
    return (pos[0] + dx / norm, max(0.5, pos[1] + dy / norm))


def walk_path(layout: Layout, start: float, rng: random.Random) -> tuple[Path, list[Step]]:
    door, mid = layout.door_x, sum(layout.pavement) / 2
    steps: list[Step] = []
    b = PathBuilder(start, (door - 12.0, mid), 1.2)

    def mark(label: str) -> None:
        steps.append((b.knots[-1][0], label))

    mark("outside")
    b.walk((door + 12.0, mid)).walk((door + 12.0, layout.window_y))
    half = layout.door_width / 2
    b.walk((min(layout.width - 0.5, door + half + 3.0), layout.window_y)).stay(15.0)
    b.walk((max(0.5, door - half - 3.0), layout.window_y)).stay(15.0)
    b.walk((door, -1.0)).stay(10.0)
    for lap in range(3):
        mark("door")
        b.walk((door, 2.5))
        mark("inside")
        if lap == 0:
            for scanner_id, _, _, pos in layout.scanners:
                b.walk(_near(layout, pos))
                mark(f"at:{scanner_id}")
                b.stay(20.0)
                mark("inside")
        for _ in range(3 if lap == 0 else 1):
            b.walk(layout.inside_spot(rng)).stay(10.0)
        b.walk((door, 2.5))
        mark("door")
        b.walk((door, -1.0))
        mark("outside")
        away = door + (20.0 if lap % 2 == 0 else -20.0)
        b.walk((away, mid)).stay(5.0).walk((door, -1.0)).stay(5.0)
    mark("end")
    return b.build(), steps


def add_walk(world: World, start: float, seed: int) -> tuple[dict[str, Any], list[Step]]:
    """Adds the technician's phone to ``world``; returns its profile and the noted steps."""
    rng = random.Random(seed)
    raw = calibration_profile(seed)
    path, steps = walk_path(world.layout, start, rng)
    device: Device = device_for_profile(raw, path, rng, "android", CALIBRATION_RATE_HZ, world.model)
    device.body_db = 0.0  # NB: phone in hand, as the walk says
    device.rotate_every = 0.0
    # NB: the kit's reference phone: its real power is the one it advertises (measured once)
    device.power_1m = -62.0 + (device.tx0 + 21)
    world.add(device)
    noted = [(round(t + rng.gauss(0.0, 0.5), 1), label) for t, label in steps]
    return raw, noted


def steps_text(steps: list[Step]) -> str:
    """The steps file: one ``<unix time> <step>`` per line."""
    return "".join(f"{t:.1f} {label}\n" for t, label in steps)
