"""A simulated shop and the people around it, as the scanners hear them.

A :class:`Layout` describes one shop: its glass front along y = 0 with a door,
inside is y > 0, the pavement in front, shelves and where every receiver hangs.
The default layout (the "classic" shop) is 20 m x 20 m with a 2 m door at
x = 10; :mod:`simulators.family` draws whole stores at random. Shoppers walk in
from the pavement, browse, pause behind shelves, stop at the kiosk, queue at the
counter and leave; passers-by walk the pavement, some stopping at the window.
Devices: Android phones advertising Eddystone-EID in the background (1, 4 or 10 Hz), iPhones that
advertise only while the app is open, store-issued iBeacon tags, store beacons
(Eddystone UID + TLM) and anonymous phones. Android phones rotate their address.

:class:`World` produces time-ordered :class:`AdvertRecord` chunks
(:meth:`World.step`) and keeps the ground truth: door crossings and zones.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from storeedge.core.adverts import APPLE_COMPANY_ID, EDDYSTONE_UUID
from storeedge.core.eid import beacon_time, compute_eid
from storeedge.core.ports import AdvertRecord, Aes128
from storeedge.core.profiles import EidKey, IBeaconTag, parse_profile
from storeedge.simulators.layout import (
    CLASSIC,
    COUNTER_SPOT,
    DOOR,
    ENTRANCE_DEPTH_M,
    KIOSK_SPOT,
    NEAR_M,
    SCANNERS,
    SINGLE_DOOR_SCANNERS,
    Layout,
    Scanner,
    Segment,
    store_toml,
    store_walls,
    truth_zone,
)
from storeedge.simulators.radio import Link, Point, RadioModel, received

__all__ = [  # NB: the layout's names, re-exported: callers import them from here
    "CLASSIC",
    "COUNTER_SPOT",
    "DOOR",
    "ENTRANCE_DEPTH_M",
    "KIOSK_SPOT",
    "NEAR_M",
    "SCANNERS",
    "SINGLE_DOOR_SCANNERS",
    "Device",
    "Layout",
    "MemberTruth",
    "Path",
    "PathBuilder",
    "Point",
    "Scanner",
    "Segment",
    "World",
    "device_for_profile",
    "random_address",
    "store_toml",
    "store_walls",
    "truth_zone",
]

# --- paths -------------------------------------------------------------------------------


@dataclass(slots=True)
class Path:
    """Piecewise-linear movement: (t, point) knots."""

    knots: list[tuple[float, Point]]

    @property
    def start(self) -> float:
        return self.knots[0][0]

    @property
    def end(self) -> float:
        return self.knots[-1][0]

    def at(self, t: float) -> Point:
        knots = self.knots
        if t <= knots[0][0]:
            return knots[0][1]
        for (t0, p0), (t1, p1) in itertools.pairwise(knots):
            if t <= t1:
                f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
                return (p0[0] + f * (p1[0] - p0[0]), p0[1] + f * (p1[1] - p0[1]))
        return knots[-1][1]

    def door_crossings(self) -> list[tuple[float, str]]:
        """(time, "in" | "out") whenever the path crosses y = 0."""
        out = []
        for (t0, p0), (t1, p1) in itertools.pairwise(self.knots):
            if (p0[1] < 0) != (p1[1] < 0):
                f = (0 - p0[1]) / (p1[1] - p0[1])
                out.append((t0 + f * (t1 - t0), "in" if p1[1] >= 0 else "out"))
        return out


class PathBuilder:
    def __init__(self, at: float, p: Point, speed: float) -> None:
        self.knots: list[tuple[float, Point]] = [(at, p)]
        self.speed = speed

    def walk(self, p: Point) -> PathBuilder:
        t, here = self.knots[-1]
        self.knots.append((t + math.dist(here, p) / self.speed, p))
        return self

    def stay(self, seconds: float) -> PathBuilder:
        t, here = self.knots[-1]
        self.knots.append((t + seconds, here))
        return self

    def build(self) -> Path:
        return Path(self.knots)


# --- devices -------------------------------------------------------------------------------


@dataclass(slots=True)
class Device:
    kind: str  # android | iphone | tag | beacon | anon
    path: Path
    rate_hz: float
    power_1m: float
    body_db: float
    address: str
    customer_id: str | None = None
    key: EidKey | None = None
    payload: dict[str, bytes] = field(default_factory=dict)  # static service data
    manufacturer: dict[int, bytes] = field(default_factory=dict)
    tx0: int = -21
    rotate_every: float = 0.0
    next_rotation: float = 0.0
    app_open: list[tuple[float, float]] = field(default_factory=list)
    next_t: float = 0.0
    links: dict[str, Link] = field(default_factory=dict)
    beacon_adv: int = 0
    battery_mv: int = 3000
    eid_cache: tuple[int, bytes] = (-1, b"")


def random_address(rng: random.Random, static: bool = False) -> str:
    first = rng.randrange(256)
    first = (first | 0xC0) if static else ((first & 0x3F) | 0x40)
    return ":".join(f"{b:02X}" for b in [first, *rng.randbytes(5)])


@dataclass(slots=True)
class MemberTruth:
    customer_id: str
    kind: str
    rate_hz: float
    role: str  # shopper | passer-by
    crossings: list[tuple[float, str]]
    path: Path
    layout: Layout = CLASSIC

    def visits(self) -> list[tuple[float, float]]:
        out, opened = [], None
        for t, direction in self.crossings:
            if direction == "in":
                opened = t
            elif opened is not None:
                out.append((opened, t))
                opened = None
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "kind": self.kind,
            "rate_hz": self.rate_hz,
            "role": self.role,
            "visits": self.visits(),
            "zones": _zone_timeline(self.path, self.layout),
        }


def _zone_timeline(path: Path, layout: Layout) -> list[tuple[float, str | None]]:
    out: list[tuple[float, str | None]] = []
    t = path.start
    while t <= path.end:
        zone = layout.zone(path.at(t))
        if not out or out[-1][1] != zone:
            out.append((round(t, 1), zone))
        t += 1.0
    return out


class World:
    """Devices, scanners and the radio between them; see the module docstring."""

    def __init__(
        self,
        aes: Aes128,
        seed: int = 0,
        model: RadioModel | None = None,
        scanners: tuple[Scanner, ...] | None = None,
        layout: Layout | None = None,
    ) -> None:
        self.aes = aes
        if layout is None:
            layout = CLASSIC if scanners is None else Layout(scanners=scanners)
        self.layout = layout
        self.scanners = layout.scanners
        self.rng = random.Random(seed)
        self.model = model or RadioModel()
        self.walls = layout.walls()
        self.devices: list[Device] = []
        self.truth: list[MemberTruth] = []
        self._pending: list[Device] = []
        self._active: list[Device] = []

    def add(self, device: Device) -> None:
        device.next_t = device.path.start + self.rng.random() / max(device.rate_hz, 0.1)
        device.next_rotation = device.path.start + device.rotate_every
        self.devices.append(device)
        self._pending.append(device)
        self._pending.sort(key=lambda d: d.path.start, reverse=True)

    def step(self, t1: float) -> list[AdvertRecord]:
        """Every advertisement heard from the previous step's end up to ``t1``, in order."""
        while self._pending and self._pending[-1].path.start < t1:
            self._active.append(self._pending.pop())
        out: list[AdvertRecord] = []
        for device in self._active:
            self._emit(device, t1, out.append)
        self._active = [d for d in self._active if d.path.end >= t1]
        out.sort(key=lambda r: r.t)
        return out

    def done(self) -> bool:
        return not self._pending and not self._active

    def _emit(self, device: Device, t1: float, put: Callable[[AdvertRecord], None]) -> None:
        rng = self.rng
        period = 1.0 / device.rate_hz
        while device.next_t < t1 and device.next_t <= device.path.end:
            t = device.next_t
            device.next_t = t + period + rng.random() * 0.01
            if device.rotate_every and t >= device.next_rotation:
                device.address = random_address(rng)
                device.next_rotation = t + device.rotate_every * (0.85 + 0.3 * rng.random())
            frame = self._frame(device, t)
            if frame is None:
                continue
            service, manufacturer = frame
            self._hear(device, t, service, manufacturer, put)

    def _frame(self, device: Device, t: float) -> tuple[dict[str, bytes], dict[int, bytes]] | None:
        if device.kind == "iphone" and not any(a <= t <= b for a, b in device.app_open):
            return None
        if device.key is not None:
            key = device.key
            ts = beacon_time(t, key.clock_offset)
            window = ts >> key.rotation_exponent
            if device.eid_cache[0] != window:
                eid = compute_eid(self.aes, key.identity_key, key.rotation_exponent, ts)
                device.eid_cache = (window, eid)
            return {EDDYSTONE_UUID: bytes([0x30, device.tx0 & 0xFF]) + device.eid_cache[1]}, {}
        if device.kind == "beacon":
            device.beacon_adv += 1
            if device.beacon_adv % 10 == 0:
                return {EDDYSTONE_UUID: _tlm(device, t)}, {}
        return device.payload, device.manufacturer

    def _hear(
        self,
        device: Device,
        t: float,
        service: dict[str, bytes],
        manufacturer: dict[int, bytes],
        put: Callable[[AdvertRecord], None],
    ) -> None:
        pos = device.path.at(t)
        uuids = tuple(service)
        for scanner_id, _, _, spos in self.scanners:
            link = device.links.get(scanner_id)
            if link is None:
                link = device.links[scanner_id] = Link()
            if link.lost(t, self.model, self.rng):
                continue
            extra = device.body_db + self.walls.loss(pos, spos, self.model)
            shadow = link.shadow(t, self.model, self.rng)
            distance = math.dist(pos, spos)
            rssi = received(self.model, device.power_1m, distance, extra, shadow, self.rng)
            if rssi is None:
                continue
            put(
                AdvertRecord(
                    t, scanner_id, device.address, rssi, None, None, manufacturer, service, uuids
                )
            )


def _tlm(device: Device, t: float) -> bytes:
    temp = round(21.5 * 256)
    uptime = int((t - device.path.start) * 10) & 0xFFFFFFFF
    return (
        bytes([0x20, 0x00])
        + device.battery_mv.to_bytes(2, "big")
        + temp.to_bytes(2, "big", signed=True)
        + device.beacon_adv.to_bytes(4, "big")
        + uptime.to_bytes(4, "big")
    )


def device_for_profile(
    raw: dict[str, Any],
    path: Path,
    rng: random.Random,
    kind: str,
    rate_hz: float,
    model: RadioModel | None = None,
) -> Device:
    """The device a member carries: an app phone (android / iphone) or a store tag.

    NB: the advertised Tx power is the phone model's nominal figure; the phone's real
    power differs from it by the bias (``model.phone_bias_sigma_db``), which no receiver
    can correct: the presence model must work with levels relative to each other.
    """
    model = model or RadioModel()
    profile = parse_profile(raw)
    nominal = rng.gauss(0.0, 3.0)
    bias = rng.gauss(0.0, model.phone_bias_sigma_db)
    power = -62.0 + nominal + bias
    body = rng.uniform(0.0, model.body_max_db)
    if isinstance(profile.ble, IBeaconTag):
        tag = profile.ble
        payload = (
            b"\x02\x15"
            + bytes.fromhex(tag.uuid.replace("-", ""))
            + tag.major.to_bytes(2, "big")
            + tag.minor.to_bytes(2, "big")
            + bytes([round(power) & 0xFF])
        )
        return Device(
            "tag", path, 1.0, power, body, random_address(rng, static=True),
            profile.customer_id, manufacturer={APPLE_COMPANY_ID: payload},
        )  # fmt: skip
    assert isinstance(profile.ble, EidKey)
    return Device(
        kind, path, rate_hz, power, body, random_address(rng), profile.customer_id,
        key=profile.ble, tx0=round(-21.0 + nominal),
        rotate_every=900.0 if kind == "android" else 0.0,
    )  # fmt: skip
