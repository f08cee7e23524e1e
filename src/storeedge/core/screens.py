"""What the core tells the screens: frozen, typed messages (never leave the store).

The core hands these to its :class:`~storeedge.core.ports.UiSink`; the web layer
turns each into a Socket.IO payload in one place (``storeedge.web.sink``), so
mypy checks every screen message from the rule that decides it to the wire.

Privacy: kiosk messages carry only what that screen may show. A greeting holds a
first name and a language, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storeedge.core.events import JSON
from storeedge.core.kiosk_messages import KioskMessage
from storeedge.core.staff_messages import HandedOver, HandoverRefused, KpiFigures


@dataclass(frozen=True, slots=True)
class MemberView:
    """A member in the store now, as the staff console lists them."""

    customer_id: str
    visit_id: str
    display_name: str
    zone: str
    via: str
    since: float
    tier: str
    vip: bool
    pickups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert as the staff console shows it."""

    alert_id: str
    kind: str
    customer_id: str | None
    zone: str
    raised_at: float
    state: str
    claimed_by: str | None
    # NB: what the rule that raised it adds (order_id, display_name, pickup_point, detail);
    # a tuple of pairs keeps the view immutable.
    details: tuple[tuple[str, JSON], ...] = ()


# --- kiosk ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Greeting:
    """A discreet greeting at a kiosk: first name only."""

    kiosk_id: str
    first_name: str
    language: str


@dataclass(frozen=True, slots=True)
class KioskCleared:
    """Back to the attract screen: nothing personal stays."""

    kiosk_id: str


@dataclass(frozen=True, slots=True)
class KioskState:
    """What one (re)connected kiosk page shows now: a greeting, or the attract screen."""

    connection: str
    kiosk_id: str
    greeting: Greeting | None


# --- staff ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberPresent:
    """A member arrived or moved."""

    member: MemberView


@dataclass(frozen=True, slots=True)
class MemberLeft:
    customer_id: str


@dataclass(frozen=True, slots=True)
class MemberForgotten:
    """An erasure: the console drops every trace of this customer."""

    customer_id: str


@dataclass(frozen=True, slots=True)
class AlertChanged:
    alert: AlertView


@dataclass(frozen=True, slots=True)
class StaffSnapshot:
    """What one (re)connected console shows: who is in, which alerts are open."""

    connection: str
    members: tuple[MemberView, ...] = ()
    alerts: tuple[AlertView, ...] = field(default=())


ScreenMessage = (
    Greeting
    | KioskCleared
    | KioskState
    | MemberPresent
    | MemberLeft
    | MemberForgotten
    | AlertChanged
    | StaffSnapshot
    | KpiFigures
    | HandoverRefused
    | HandedOver
    | KioskMessage  # the personal space (storeedge.core.kiosk_messages)
)
