"""Simulated loyalty members as central would send them (CONTRACTS section 2)."""

from __future__ import annotations

import random
from typing import Any

FAR_FUTURE = "2099-01-01T00:00:00.000Z"
STORE_TAG_UUID = "e2c56db5-dffb-48d2-b060-d0f5a71096e0"


def member(
    rng: random.Random,
    index: int,
    kind: str = "eid",
    consent: bool = True,
    rotation_exponent: int = 10,
) -> dict[str, Any]:
    """One member profile; ``kind`` is "eid" (the app) or "ibeacon" (a store tag)."""
    ble: dict[str, Any]
    if kind == "eid":
        ble = {
            "kind": "eid",
            "identity_key": rng.randbytes(16).hex(),
            "rotation_exponent": rotation_exponent,
            "clock_offset": rng.randrange(0, 1 << rotation_exponent),
        }
    else:
        ble = {"kind": "ibeacon", "uuid": STORE_TAG_UUID, "major": 42, "minor": index % 65536}
    return {
        "customer_id": f"C-{index:06d}",
        "display_name": f"Member {index}",
        "language": "fr" if index % 3 else "en",
        "consent": {
            "recognition": consent,
            "staff_alerts": consent,
            "personalization": consent,
            "version": "2026-01",
            "expires_at": FAR_FUTURE,
        },
        "ble": ble,
        "loyalty": {"tier": "silver", "points": index % 5000},
        "vip": False,
    }


def members(count: int, seed: int, start: int = 1, tags_every: int = 0) -> list[dict[str, Any]]:
    """``count`` consenting members; every ``tags_every``-th carries a store tag instead."""
    rng = random.Random(seed)
    out = []
    for n in range(start, start + count):
        kind = "ibeacon" if tags_every and n % tags_every == 0 else "eid"
        out.append(member(rng, n, kind))
    return out
