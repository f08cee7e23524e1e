"""Simulated shops: their layout (size, door, pavement, shelves, receivers) and config.

:data:`CLASSIC` is the shop presence's rules were tuned on (20 m x 20 m, a 2 m door
at x = 10, the recommended door pair); :mod:`simulators.family` draws others.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from storeedge.simulators.radio import Point, Walls

DOOR: Point = (10.0, 0.0)
Scanner = tuple[str, str, str, Point]  # id, zone, role, position
# NB: the recommended door installation (docs/presence.md): one receiver just inside the door
# and a second one on the walking line 4 m in, so that "in" is both hearing the phone well
# within a moment; a passer-by outside is always much nearer the first than the second.
SCANNERS: tuple[Scanner, ...] = (
    ("entrance", "entrance", "entrance", (10.0, 1.5)),
    ("entrance-in", "floor", "entrance", (10.0, 4.0)),
    ("floor-a", "floor", "floor", (5.0, 11.0)),
    ("floor-b", "floor", "floor", (15.0, 8.0)),
    ("kiosk", "kiosk", "kiosk", (3.0, 5.0)),
    ("counter", "counter", "counter", (16.0, 16.0)),
)
SINGLE_DOOR_SCANNERS: tuple[Scanner, ...] = tuple(s for s in SCANNERS if s[0] != "entrance-in")
KIOSK_SPOT: Point = (3.6, 5.6)
COUNTER_SPOT: Point = (15.5, 15.0)
NEAR_M = 2.5  # ground truth: within this of the kiosk / counter scanner is that zone
ENTRANCE_DEPTH_M = 3.0


Segment = tuple[Point, Point]
CLASSIC_SHELVES: tuple[Segment, ...] = (
    ((6.0, 13.5), (13.0, 13.5)),
    ((12.5, 4.5), (12.5, 11.0)),
    ((7.0, 7.0), (7.0, 11.0)),
)


@dataclass(frozen=True, slots=True)
class Layout:
    """One shop: size, door, pavement, shelves and receivers (metres; door line y = 0)."""

    width: float = 20.0
    depth: float = 20.0
    door_x: float = 10.0
    door_width: float = 2.0
    pavement: tuple[float, float] = (-4.5, -1.2)  # y range of walkers
    pavement_x: tuple[float, float] = (-25.0, 45.0)
    window_y: float = -0.6  # where window shoppers stand
    shelves: tuple[Segment, ...] = CLASSIC_SHELVES
    scanners: tuple[Scanner, ...] = SCANNERS
    kiosk_spot: Point = KIOSK_SPOT
    counter_spot: Point = COUNTER_SPOT

    @property
    def door(self) -> Point:
        return (self.door_x, 0.0)

    def walls(self) -> Walls:
        half = self.door_width / 2
        left = ((-0.5, 0.0), (self.door_x - half, 0.0))
        right = ((self.door_x + half, 0.0), (self.width + 0.5, 0.0))
        return Walls(glass=[left, right], shelves=list(self.shelves))

    def zone(self, p: Point) -> str | None:
        """Where a person at ``p`` is, for scoring: None outside."""
        if p[1] < 0:
            return None
        for _, zone, role, pos in self.scanners:
            if role in ("kiosk", "counter") and math.dist(p, pos) <= NEAR_M:
                return zone
        return "entrance" if p[1] < ENTRANCE_DEPTH_M else "floor"

    def inside_spot(self, rng: random.Random) -> Point:
        return (rng.uniform(1.0, self.width - 1.0), rng.uniform(2.5, self.depth - 1.0))


CLASSIC = Layout()


def store_walls() -> Walls:
    return CLASSIC.walls()


def store_toml(
    data_dir: str,
    port: int = 1883,
    scanners: tuple[Scanner, ...] = SCANNERS,
    door: Point = DOOR,
    extra: str = "",
) -> str:
    """A config for this shop (the simulated scanners and a kiosk)."""
    parts = [
        f'[store]\nid = "store-sim"\nedge_id = "edge-1"\ndoor = [{door[0]}, {door[1]}]\n',
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\ntls = false\n',
        f'[data]\ndir = "{data_dir}"\n',
    ]
    for scanner_id, zone, role, (x, y) in scanners:
        parts.append(
            f'[[scanners]]\nid = "{scanner_id}"\nzone = "{zone}"\nrole = "{role}"\n'
            f"position = [{x}, {y}]\n"
        )
    parts.append('[[kiosks]]\nid = "kiosk-1"\nzone = "kiosk"\n')
    if extra:
        parts.append(extra)
    return "\n".join(parts)


def truth_zone(p: Point, layout: Layout = CLASSIC) -> str | None:
    """Where a person at ``p`` is in ``layout``, for scoring: None outside."""
    return layout.zone(p)
