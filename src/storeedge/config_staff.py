"""The staff console's configuration keys (CONTRACTS 8 and docs/staff.md).

``[alerts] escalate_after_s``, ``[[pickup_points]]`` (the names staff know the
pickup points by) and ``[web] staff_shift_h`` (how long a clerk's sign-in lasts),
read with the loader's own reader so every error names the file, key and
expectation like the rest of the configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, TypeVar

from storeedge.core.settings import SHIFT_H, AlertSettings, PickupPointSettings

T = TypeVar("T")


class _Reader(Protocol):
    """What this module needs of the loader's reader (``storeedge.config``)."""

    def fail(self, path: str, message: str) -> Exception: ...

    def table(self, raw: object, path: str, known: tuple[str, ...]) -> Mapping[str, Any]: ...

    def required(self, table: Mapping[str, Any], path: str, key: str) -> object: ...

    def string(self, value: object, path: str, *, ident: bool = False) -> str: ...

    def number(self, value: object, path: str, low: float, high: float) -> float: ...

    def optional(
        self,
        table: Mapping[str, Any],
        path: str,
        key: str,
        read: Callable[[object, str], T],
    ) -> T | None: ...

    def array_of_tables(self, raw: object, path: str) -> list[object]: ...


STAFF_SECTIONS: Final = ("alerts", "pickup_points")
MAX_POINT_NAME: Final = 40


def alerts(r: _Reader, raw: object) -> AlertSettings:
    t = r.table(raw, "alerts", ("escalate_after_s",))
    after = r.optional(t, "alerts", "escalate_after_s", lambda v, p: r.number(v, p, 10, 3600))
    return AlertSettings() if after is None else AlertSettings(escalate_after_s=after)


def shift_h(r: _Reader, web: Mapping[str, Any]) -> float:
    """``[web] staff_shift_h``: 1 to 24 hours, 12 by default."""
    shift = r.optional(web, "web", "staff_shift_h", lambda v, p: r.number(v, p, 1, 24))
    return SHIFT_H if shift is None else shift


def pickup_points(r: _Reader, raw: object) -> tuple[PickupPointSettings, ...]:
    out: list[PickupPointSettings] = []
    for index, item in enumerate(r.array_of_tables(raw, "pickup_points")):
        path = f"pickup_points[{index}]"
        t = r.table(item, path, ("id", "name"))
        point = PickupPointSettings(
            id=r.string(r.required(t, path, "id"), f"{path}.id", ident=True),
            name=r.string(r.required(t, path, "name"), f"{path}.name"),
        )
        if len(point.name) > MAX_POINT_NAME:
            raise r.fail(f"{path}.name", f"expected at most {MAX_POINT_NAME} characters")
        if any(p.id == point.id for p in out):
            raise r.fail(f"{path}.id", f'"{point.id}" is listed twice')
        out.append(point)
    return tuple(out)
