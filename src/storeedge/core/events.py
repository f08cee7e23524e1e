"""CloudEvents 1.0 envelopes exactly as CONTRACTS section 3.

The core *decides* an :class:`Event` (type, id, time, data). The outbox
*seals* it: it assigns the per-source ``sequence`` inside the transaction that
stores it and keeps the sealed bytes, so a redelivery is byte-identical.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from storeedge.core.timefmt import format_time

PREFIX: Final = "storeedge."
SEQUENCE_DIGITS: Final = 20

JSON = Any  # NB: a JSON value; recursive aliases make mypy slow and say nothing more here.


class Lane(IntEnum):
    """Outbox priority lanes, most urgent first. Lanes up to TRANSACTION never drop."""

    CRITICAL = 0  # alerts and edge health
    TRANSACTION = 1  # what a shopper asked for: cart, orders, returns, pickups, kiosk sessions
    PRESENCE = 2  # arrivals, zones, departures
    ANALYTICS = 3  # footfall counts, beacon telemetry

    @property
    def may_drop(self) -> bool:
        return self >= Lane.PRESENCE


# Every event type this edge decides, with the data fields that must be present
# (CONTRACTS section 3) and its lane.
EVENT_TYPES: Final[Mapping[str, tuple[tuple[str, ...], Lane]]] = {
    "storeedge.customer.arrived": (("customer_id", "visit_id", "zone", "via"), Lane.PRESENCE),
    "storeedge.customer.zone_changed": (
        ("customer_id", "visit_id", "zone", "previous_zone"),
        Lane.PRESENCE,
    ),
    "storeedge.customer.departed": (("customer_id", "visit_id", "dwell_s"), Lane.PRESENCE),
    "storeedge.footfall.counted": (("window_start", "window_s", "visitors"), Lane.ANALYTICS),
    "storeedge.beacon.telemetry": (
        ("beacon_id", "battery_mv", "temperature_c"),
        Lane.ANALYTICS,
    ),
    "storeedge.kiosk.session_started": (
        ("kiosk_id", "session_id", "customer_id", "method"),
        Lane.TRANSACTION,
    ),
    "storeedge.kiosk.session_ended": (
        ("kiosk_id", "session_id", "customer_id", "reason"),
        Lane.TRANSACTION,
    ),
    "storeedge.alert.raised": (("alert_id", "kind", "customer_id", "zone"), Lane.CRITICAL),
    "storeedge.alert.claimed": (("alert_id", "kind", "customer_id", "zone"), Lane.CRITICAL),
    "storeedge.alert.resolved": (("alert_id", "kind", "customer_id", "zone"), Lane.CRITICAL),
    "storeedge.alert.escalated": (("alert_id", "kind", "customer_id", "zone"), Lane.CRITICAL),
    "storeedge.kiosk.handoff_issued": (
        ("kiosk_id", "session_id", "customer_id", "token", "expires_at"),
        Lane.TRANSACTION,
    ),
    "storeedge.cart.line_added": (("customer_id", "cart_version", "line"), Lane.TRANSACTION),
    "storeedge.cart.line_removed": (("customer_id", "cart_version", "line"), Lane.TRANSACTION),
    "storeedge.pickup.handed_over": (("order_id", "customer_id"), Lane.TRANSACTION),
    "storeedge.return.requested": (("order_id", "customer_id", "lines"), Lane.TRANSACTION),
    "storeedge.order.requested": (
        ("customer_id", "lines", "fulfilment"),
        Lane.TRANSACTION,
    ),
    "storeedge.edge.dropped": (("lane", "count", "reason"), Lane.CRITICAL),
}


@dataclass(frozen=True, slots=True)
class Event:
    """An event the edge has decided, before the outbox gives it a sequence number."""

    type: str
    id: str
    time: float  # Unix seconds, on the clock the pipeline runs on
    data: Mapping[str, JSON]

    @property
    def lane(self) -> Lane:
        return EVENT_TYPES[self.type][1]

    @property
    def short_type(self) -> str:
        """The type without ``storeedge.``: the last part of the MQTT topic."""
        return self.type.removeprefix(PREFIX)

    def envelope(self, source: str, sequence: int) -> dict[str, JSON]:
        return {
            "specversion": "1.0",
            "id": self.id,
            "source": source,
            "type": self.type,
            "time": format_time(self.time),
            "sequence": format_sequence(sequence),
            "datacontenttype": "application/json",
            "data": dict(self.data),
        }

    def seal(self, source: str, sequence: int) -> bytes:
        """The exact bytes that go on the wire, every time this event is sent."""
        return encode_json(self.envelope(source, sequence))


def format_sequence(sequence: int) -> str:
    if not 0 < sequence < 10**SEQUENCE_DIGITS:
        raise ValueError(f"sequence out of range: {sequence}")
    return str(sequence).zfill(SEQUENCE_DIGITS)


def encode_json(value: JSON) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


class UuidV7:
    """Time-ordered ids (RFC 9562 UUIDv7), strictly increasing within one generator.

    NB: the 12 ``rand_a`` bits carry a counter inside one millisecond, so ids
    sort in decision order even at thousands of events per second.
    """

    def __init__(self, random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        self._random = random_bytes
        self._last_ms = -1
        self._counter = 0

    def new(self, unix_seconds: float) -> str:
        ms = max(int(unix_seconds * 1000), self._last_ms)
        if ms == self._last_ms:
            self._counter += 1
            if self._counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                ms += 1
                self._counter = 0
        else:
            self._counter = int.from_bytes(self._random(2), "big") & 0x3FF
        self._last_ms = ms
        tail = int.from_bytes(self._random(8), "big") & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | self._counter << 64 | 0b10 << 62 | tail
        text = f"{value:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class EventFactory:
    """Makes events with checked types and fields; the one way the core creates them."""

    def __init__(self, ids: UuidV7 | None = None) -> None:
        self._ids = ids or UuidV7()

    def new_id(self, at: float) -> str:
        """A fresh time-ordered id (visit ids, session ids, alert ids)."""
        return self._ids.new(at)

    def make(self, event_type: str, data: Mapping[str, JSON], at: float) -> Event:
        spec = EVENT_TYPES.get(event_type)
        if spec is None:
            raise ValueError(f"unknown event type {event_type!r}")
        missing = [name for name in spec[0] if name not in data]
        if missing:
            raise ValueError(f"{event_type} lacks {', '.join(missing)}")
        return Event(type=event_type, id=self._ids.new(at), time=at, data=dict(data))
