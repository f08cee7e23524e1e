"""What the core tells the staff consoles beyond members and alerts: typed, frozen.

Part of the :data:`storeedge.core.screens.ScreenMessage` union; the web layer
turns each into a Socket.IO payload in ``storeedge.web.sink``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KpiFigures:
    """Today's arrival -> claim and arrival -> handover figures (seconds), against a target.

    ``connection`` addresses one console (its snapshot); ``None`` is every console.
    A median or 90th percentile is ``None`` while there is no sample.
    """

    connection: str | None
    target_s: float
    claim_count: int
    claim_median_s: float | None
    claim_p90_s: float | None
    handover_count: int
    handover_median_s: float | None
    handover_p90_s: float | None
    handover_within_target: int


@dataclass(frozen=True, slots=True)
class HandoverRefused:
    """A pickup code (scanned or typed) that did not hand an order over, and why.

    ``reason`` is a short code (``already_used``, ``bad_code``, ``already_handed_over``,
    ...); ``where`` is the counter zone or ``console``. No code digits travel here.
    """

    reason: str
    where: str
    order_id: str | None = None
    connection: str | None = None  # the console that typed it; None: every console


@dataclass(frozen=True, slots=True)
class HandedOver:
    """An order handed over (the pickup alert's ``resolved`` follows separately)."""

    order_id: str
    customer_id: str
    display_name: str
    proof: str  # qr | code | staff
    staff: str | None
