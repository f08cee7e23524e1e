"""The ``[presence]`` configuration keys: the store's calibration file and its beacons.

``calibration_file`` names the file ``storeedge calibrate`` wrote; it is read here,
at load time, so the core gets plain frozen values (:mod:`storeedge.core.calibration`)
and a bad file is a configuration error like any other: file, key and expectation.
``beacons`` lists the store's own Eddystone beacons (UIDs, 32 hex digits), so that
one silent since start-up is reported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from storeedge.config_staff import STAFF_SECTIONS
from storeedge.core.calibration import Calibration, CalibrationError, from_document
from storeedge.core.settings import PresenceSettings

T = TypeVar("T")
KEYS = ("calibration_file", "beacons")
SECTIONS = (*STAFF_SECTIONS, "presence")  # NB: the top-level tables read outside config.py
_HEX = frozenset("0123456789abcdef")


class _Reader(Protocol):
    """What this module needs of the loader's reader (``storeedge.config``)."""

    def fail(self, path: str, message: str) -> Exception: ...

    def table(self, raw: object, path: str, known: tuple[str, ...]) -> Mapping[str, Any]: ...

    def string(self, value: object, path: str, *, ident: bool = False) -> str: ...

    def optional(
        self, table: Mapping[str, Any], path: str, key: str, read: Callable[[object, str], T]
    ) -> T | None: ...


def read_calibration(path: Path) -> Calibration:
    """A calibration file -> its values; :class:`CalibrationError` (or OSError) if unusable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise CalibrationError(f"{path} is not JSON") from None
    return from_document(document)


def beacon_ids(r: _Reader, value: object, path: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise r.fail(path, "expected an array of beacon ids")
    out: list[str] = []
    for index, item in enumerate(value):
        text = r.string(item, f"{path}[{index}]").lower()
        if len(text) != 32 or not set(text) <= _HEX:
            raise r.fail(f"{path}[{index}]", "expected an Eddystone UID (32 hex digits)")
        out.append(text)
    return tuple(out)


def presence(r: _Reader, raw: object, read_path: Callable[[object, str], Path]) -> PresenceSettings:
    """``[presence]``: the calibration file and its values, the store's beacons."""
    t = r.table(raw, "presence", KEYS)
    where = "presence.calibration_file"
    calibration_file = r.optional(t, "presence", "calibration_file", read_path)
    calibration: Calibration | None = None
    if calibration_file is not None:
        try:
            calibration = read_calibration(calibration_file)
        except OSError as exc:
            raise r.fail(where, f"cannot read {calibration_file}: {exc.strerror}") from None
        except CalibrationError as exc:
            raise r.fail(where, f"{calibration_file}: {exc}") from None
    beacons = r.optional(t, "presence", "beacons", lambda v, p: beacon_ids(r, v, p))
    return PresenceSettings(calibration_file, calibration, beacons or ())
