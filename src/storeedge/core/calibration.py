"""A store's calibration: how its receivers' readings map onto the reference scale.

Presence's thresholds (:mod:`storeedge.core.tuning`) are in *reference dBm*: the
levels of the simulated shop they were tuned on, where a phone 1 m from any
receiver reads ``REFERENCE_1M`` and levels fall by ``REFERENCE_EXPONENT`` x 10 dB per
decade of distance. A real store differs: each receiver's gain (antenna, case,
mount) and the room's path loss (open plan or shelves, people, walls). The
calibration walk (``storeedge calibrate``) measures both, and every reading
becomes

    reference = REFERENCE_1M + (level + offset_db - REFERENCE_1M) x scale

with ``offset_db`` from standing 1 m from the receiver and ``scale`` =
``REFERENCE_EXPONENT`` / the store's measured exponent: a reading then says how
far away the phone is as the reference shop would say it.

Plain frozen values: the config loader reads the file (``[presence]
calibration_file``) and hands them to the pipeline; nothing here reads files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

REFERENCE_1M: Final = -62.0  # dBm at 1 m of a typical phone in hand
REFERENCE_EXPONENT: Final = 2.3  # the path-loss exponent of the shop the rules were tuned on
FORMAT: Final = 1
SCALE_RANGE: Final = (0.5, 1.6)


class CalibrationError(ValueError):
    """A calibration document that cannot be used (phrased for the technician)."""


@dataclass(frozen=True, slots=True)
class ReceiverFit:
    scanner_id: str
    offset_db: float = 0.0
    scale: float = 1.0

    def apply(self, level: float) -> float:
        return REFERENCE_1M + (level + self.offset_db - REFERENCE_1M) * self.scale


@dataclass(frozen=True, slots=True)
class Calibration:
    receivers: tuple[ReceiverFit, ...] = ()
    exponent: float = REFERENCE_EXPONENT  # the store's measured path-loss exponent
    source: str = "defaults"

    def receiver(self, scanner_id: str) -> ReceiverFit:
        for fit in self.receivers:
            if fit.scanner_id == scanner_id:
                return fit
        return ReceiverFit(scanner_id)  # NB: a receiver added since: as the reference


def scale_for(exponent: float) -> float:
    low, high = SCALE_RANGE
    return min(high, max(low, REFERENCE_EXPONENT / exponent))


def to_document(calibration: Calibration) -> dict[str, object]:
    return {
        "format": FORMAT,
        "source": calibration.source,
        "exponent": round(calibration.exponent, 3),
        "receivers": [
            {
                "scanner": f.scanner_id,
                "offset_db": round(f.offset_db, 2),
                "scale": round(f.scale, 4),
            }
            for f in calibration.receivers
        ],
    }


def _number(raw: Mapping[str, object], key: str, low: float, high: float) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalibrationError(f"{key}: expected a number")
    if not math.isfinite(value) or not low <= value <= high:
        raise CalibrationError(f"{key}: expected a number from {low:g} to {high:g}")
    return float(value)


def from_document(raw: object) -> Calibration:
    """A parsed calibration file -> values; :class:`CalibrationError` says what is wrong."""
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CalibrationError(f"not a calibration file (format {FORMAT} expected)")
    receivers = raw.get("receivers")
    if not isinstance(receivers, list):
        raise CalibrationError("receivers: expected a list")
    fits: list[ReceiverFit] = []
    for index, item in enumerate(receivers):
        if not isinstance(item, dict) or not isinstance(item.get("scanner"), str):
            raise CalibrationError(f"receivers[{index}]: expected a table with a scanner id")
        try:
            offset = _number(item, "offset_db", -50, 50)
            scale = _number(item, "scale", *SCALE_RANGE)
        except CalibrationError as exc:
            raise CalibrationError(f"receivers[{index}].{exc}") from None
        fits.append(ReceiverFit(item["scanner"], offset, scale))
    source = raw.get("source")
    return Calibration(
        tuple(fits),
        _number(raw, "exponent", 1.0, 6.0),
        source if isinstance(source, str) else "calibration file",
    )
