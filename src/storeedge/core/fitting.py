"""Fitting a store's calibration from the technician's walk (pure; see storeedge.calibrate).

Input: every reading of the calibration identity (time, receiver, level after the
configured offset and the Tx power correction) and the walk's steps as noted,
``(start time, step)`` with steps ``outside``, ``door``, ``inside``,
``at:<scanner>`` (standing 1 m from that receiver) and ``end``.

- Offsets: the median level while standing 1 m from a receiver becomes
  ``REFERENCE_1M`` for it.
- The path-loss exponent: while the walk stands 1 m from one receiver, the others
  hear it at known distances (the configured positions); a line through
  ``REFERENCE_1M`` at 1 m fits their levels against log-distance.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from storeedge.core.calibration import (
    REFERENCE_1M,
    REFERENCE_EXPONENT,
    Calibration,
    ReceiverFit,
    scale_for,
)
from storeedge.core.settings import ScannerSettings

Sample = tuple[float, str, float]  # (t, scanner id, level)
Step = tuple[float, str]
GUARD_S: Final = 1.0  # readings this close to a noted step boundary are not labelled
BURST_S: Final = 0.04
MIN_SAMPLES: Final = 5
NEAR_M: Final = 2.5
DEFAULT_EXPONENT: Final = 2.5


@dataclass(slots=True)
class Report:
    offsets: dict[str, float] = field(default_factory=dict)
    exponent: float | None = None
    door_separation_db: float | None = None  # door receiver: doorway level - pavement level
    bursts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def label_of(steps: Sequence[Step], t: float) -> str | None:
    """The step under way at ``t`` (None near a boundary, before the first or after end)."""
    current: str | None = None
    for index, (start, label) in enumerate(steps):
        if t < start:
            break
        current = label
        following = steps[index + 1][0] if index + 1 < len(steps) else math.inf
        if t - start < GUARD_S or following - t < GUARD_S:
            current = None
    return None if current == "end" else current


def bursts_of(samples: Iterable[Sample]) -> list[tuple[float, dict[str, float]]]:
    """Readings grouped into advertisements (copies heard within ``BURST_S``)."""
    out: list[tuple[float, dict[str, float]]] = []
    for t, scanner_id, level in sorted(samples):
        if out and t - out[-1][0] <= BURST_S and scanner_id not in out[-1][1]:
            out[-1][1][scanner_id] = level
        else:
            out.append((t, {scanner_id: level}))
    return out


def _offsets(
    bursts: list[tuple[float, dict[str, float]]],
    labels: list[str | None],
    scanners: Sequence[ScannerSettings],
    report: Report,
) -> dict[str, float]:
    offsets: dict[str, float] = {}
    for scanner in scanners:
        at = f"at:{scanner.id}"
        levels = [
            b[scanner.id]
            for (_, b), label in zip(bursts, labels, strict=True)
            if label == at and scanner.id in b
        ]
        if len(levels) < MIN_SAMPLES:
            report.warnings.append(f"{scanner.id}: no 1 m stand recorded; offset left at 0")
            offsets[scanner.id] = 0.0
            continue
        offsets[scanner.id] = max(-30.0, min(30.0, REFERENCE_1M - statistics.median(levels)))
    report.offsets = dict(offsets)
    return offsets


def _exponent(
    bursts: list[tuple[float, dict[str, float]]],
    labels: list[str | None],
    scanners: Sequence[ScannerSettings],
    offsets: dict[str, float],
) -> float | None:
    """The path-loss exponent from what the other receivers hear at each 1 m stand."""
    where = {s.id: s.position for s in scanners}
    xs: list[float] = []
    ys: list[float] = []
    for (_, heard), label in zip(bursts, labels, strict=True):
        if label is None or not label.startswith("at:"):
            continue
        standing = where.get(label[3:])
        if standing is None:
            continue
        for scanner_id, level in heard.items():
            position = where.get(scanner_id)
            if position is None or scanner_id == label[3:]:
                continue
            distance = max(1.0, math.dist(standing, position) - 1.0)
            if distance >= 2.0:
                xs.append(math.log10(distance))
                ys.append(REFERENCE_1M - (level + offsets[scanner_id]))
    if len(xs) < 20:
        return None
    # NB: a line through the origin: 1 m reads REFERENCE_1M by construction
    exponent = sum(x * y for x, y in zip(xs, ys, strict=True)) / max(1e-9, sum(x * x for x in xs))
    return max(1.5, min(5.0, exponent / 10.0))


def fit(
    samples: Iterable[Sample],
    steps: Sequence[Step],
    scanners: Sequence[ScannerSettings],
    door_receiver: str | None,
) -> tuple[Calibration, Report]:
    """The calibration of this store from one walk, and what the technician should know."""
    report = Report()
    bursts = bursts_of(samples)
    labels = [label_of(steps, t) for t, _ in bursts]
    offsets = _offsets(bursts, labels, scanners, report)
    for name in ("outside", "door", "inside"):
        count = sum(1 for label in labels if label is not None and _kind(label) == name)
        report.bursts[name] = count
        if count < 3 * MIN_SAMPLES:
            report.warnings.append(f"only {count} advertisements recorded {name}: walk again")
    exponent = _exponent(bursts, labels, scanners, offsets)
    report.exponent = exponent
    if exponent is None:
        report.warnings.append(
            "path loss not measured (receiver positions missing or too few readings): "
            "levels are compared as in the reference shop"
        )
    scale = scale_for(exponent or REFERENCE_EXPONENT)
    fits = tuple(ReceiverFit(s.id, offsets[s.id], scale) for s in scanners)
    calibration = Calibration(fits, exponent or REFERENCE_EXPONENT, "storeedge calibrate")
    _warn(calibration, bursts, labels, door_receiver, report)
    return calibration, report


def _kind(label: str) -> str:
    return "inside" if label.startswith("at:") else label


def _median_at(
    bursts: list[tuple[float, dict[str, float]]],
    labels: list[str | None],
    fit: ReceiverFit,
    kind: str,
) -> float | None:
    levels = [
        fit.apply(heard[fit.scanner_id])
        for (_, heard), label in zip(bursts, labels, strict=True)
        if label is not None and _kind(label) == kind and fit.scanner_id in heard
    ]
    return statistics.median(levels) if len(levels) >= MIN_SAMPLES else None


def _warn(
    calibration: Calibration,
    bursts: list[tuple[float, dict[str, float]]],
    labels: list[str | None],
    door_receiver: str | None,
    report: Report,
) -> None:
    if door_receiver is not None:
        door = calibration.receiver(door_receiver)
        doorway = _median_at(bursts, labels, door, "door")
        pavement = _median_at(bursts, labels, door, "outside")
        if doorway is not None and pavement is not None:
            report.door_separation_db = doorway - pavement
            if doorway - pavement < 8.0:
                report.warnings.append(
                    f"{door_receiver}: the pavement reaches the door receiver nearly as loud "
                    f"as the doorway ({doorway - pavement:.1f} dB apart): move it further in, "
                    "away from the glass"
                )
    stands: dict[str, dict[str, float]] = {}
    for fit in calibration.receivers:
        at = f"at:{fit.scanner_id}"
        for other in calibration.receivers:
            levels = [
                other.apply(heard[other.scanner_id])
                for (_, heard), label in zip(bursts, labels, strict=True)
                if label == at and other.scanner_id in heard
            ]
            if len(levels) >= MIN_SAMPLES:
                stands.setdefault(fit.scanner_id, {})[other.scanner_id] = statistics.median(levels)
    for a, heard in stands.items():
        for b, level in heard.items():
            if b != a and level >= heard.get(a, REFERENCE_1M) - 4.0 and a < b:
                report.warnings.append(
                    f"{a} and {b} are too close: 1 m from {a}, {b} hears the phone within 4 dB "
                    f"as loud ({level:.0f} dBm): they cannot tell places apart"
                )
