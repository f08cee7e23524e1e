"""The radio side of the simulated store: how loud an advertisement arrives, if at all.

A log-distance path-loss model with, per link, slow log-normal shadowing (an
AR(1) process, so it is correlated over a few seconds as a body turns or a
trolley passes), Rician fast fading per packet, the front glass and shelves as
attenuating segments, a per-device body/pocket loss and power bias, random packet
loss that grows near the receiver's sensitivity (scanners also miss packets while
they listen on another advertising channel), and bursts of loss per link (a
Wi-Fi burst, a body in the way) that last a few seconds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

Point = tuple[float, float]
Segment = tuple[Point, Point]


@dataclass(frozen=True, slots=True)
class RadioModel:
    path_loss_exponent: float = 2.3
    shadow_sigma_db: float = 4.0
    shadow_corr_s: float = 4.0
    rician_k: float = 3.0  # LOS power over scattered power
    glass_db: float = 7.0
    shelf_db: float = 9.0
    base_loss: float = 0.2  # channel hopping and collisions
    sensitivity_dbm: float = -97.0
    phone_bias_sigma_db: float = 1.5  # a phone's real power against its advertised Tx power
    body_max_db: float = 6.0  # body / pocket / bag loss, uniform 0..this per phone
    burst_rate_hz: float = 0.0  # per link: bursts of loss starting per second...
    burst_mean_s: float = 2.0  # ...lasting this long on average...
    burst_loss: float = 0.9  # ...losing this share of packets


@dataclass(slots=True)
class Walls:
    """Attenuating segments: the shop window (with the door gap) and shelves."""

    glass: list[Segment] = field(default_factory=list)
    shelves: list[Segment] = field(default_factory=list)

    def loss(self, a: Point, b: Point, model: RadioModel) -> float:
        total = 0.0
        for segment in self.glass:
            if _crosses(a, b, segment):
                total += model.glass_db
        for segment in self.shelves:
            if _crosses(a, b, segment):
                total += model.shelf_db
        return total


def _orient(p: Point, q: Point, r: Point) -> float:
    return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])


def _crosses(a: Point, b: Point, segment: Segment) -> bool:
    c, d = segment
    d1, d2 = _orient(c, d, a), _orient(c, d, b)
    d3, d4 = _orient(a, b, c), _orient(a, b, d)
    return (d1 > 0) != (d2 > 0) and (d3 > 0) != (d4 > 0)


class Link:
    """One device-to-scanner link's slow shadowing state."""

    __slots__ = ("_at", "_burst_at", "_burst_end", "_value")

    def __init__(self) -> None:
        self._value = 0.0
        self._at = -1e18
        self._burst_at = -1e18
        self._burst_end = -1e18

    def lost(self, now: float, model: RadioModel, rng: random.Random) -> bool:
        """Whether a burst of loss eats this packet."""
        if model.burst_rate_hz <= 0.0:
            return False
        dt = min(10.0, max(0.0, now - self._burst_at))
        self._burst_at = now
        if now >= self._burst_end and rng.random() < 1.0 - math.exp(-model.burst_rate_hz * dt):
            self._burst_end = now + rng.expovariate(1.0 / model.burst_mean_s)
        return now < self._burst_end and rng.random() < model.burst_loss

    def shadow(self, now: float, model: RadioModel, rng: random.Random) -> float:
        dt = now - self._at
        self._at = now
        if dt > 10 * model.shadow_corr_s:
            self._value = rng.gauss(0.0, model.shadow_sigma_db)
            return self._value
        rho = math.exp(-dt / model.shadow_corr_s)
        innovation = model.shadow_sigma_db * math.sqrt(max(0.0, 1 - rho * rho))
        self._value = rho * self._value + rng.gauss(0.0, innovation)
        return self._value


def fading_db(model: RadioModel, rng: random.Random) -> float:
    """Rician fast fading, as dB around the mean received power."""
    k = model.rician_k
    los = math.sqrt(k / (k + 1))
    sigma = math.sqrt(1 / (2 * (k + 1)))
    i = los + rng.gauss(0.0, sigma)
    q = rng.gauss(0.0, sigma)
    return 10 * math.log10(max(i * i + q * q, 1e-6))


def received(
    model: RadioModel,
    power_1m: float,
    distance: float,
    extra_db: float,
    shadow_db: float,
    rng: random.Random,
) -> int | None:
    """The RSSI a scanner reports for one packet, or None when the packet is lost."""
    if rng.random() < model.base_loss:
        return None
    mean = power_1m - 10 * model.path_loss_exponent * math.log10(max(distance, 0.3))
    rssi = mean - extra_db + shadow_db + fading_db(model, rng)
    if rssi < model.sensitivity_dbm:
        return None
    margin = rssi - model.sensitivity_dbm
    if margin < 6 and rng.random() > margin / 6:  # NB: the last few dB are unreliable
        return None
    return max(-127, min(20, round(rssi)))
