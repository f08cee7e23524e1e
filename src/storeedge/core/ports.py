"""The ports the core talks through. Adapters and simulators implement them;
``storeedge.app`` is the one place that chooses which."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from storeedge.core.events import Event
from storeedge.core.screens import ScreenMessage

# AES-128 in ECB mode: (16-byte key, data of a multiple of 16 bytes) -> ciphertext.
# NB: injected so the core needs no crypto library; storeedge.adapters.crypto provides it.
Aes128 = Callable[[bytes, bytes], bytes]


@dataclass(slots=True)
class AdvertRecord:
    """One BLE advertisement as bleak hands it over (CONTRACTS section 1).

    NB: not frozen: a frozen dataclass sets each field through ``object.__setattr__``,
    which made building a record the costliest step of a replay (2.5 µs against
    0.7 µs). Treat records as read-only all the same: their maps are shared.
    """

    t: float
    scanner: str
    address: str
    rssi: int
    tx_power: int | None = None
    local_name: str | None = None
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)
    service_data: Mapping[str, bytes] = field(default_factory=dict)
    service_uuids: tuple[str, ...] = ()


class EventSink(Protocol):
    """Where decided events go: the durable outbox live, stdout in replay."""

    def emit(self, event: Event) -> None: ...


class UiSink(Protocol):
    """Local, non-durable messages to the kiosk and staff screens (never leave the store)."""

    def show(self, message: ScreenMessage) -> None: ...


@dataclass(frozen=True, slots=True)
class OpenVisit:
    """A visit as the journal keeps it, so a restart can close it (no departure lost)."""

    visit_id: str
    customer_id: str
    started_at: float
    zone: str
    updated_at: float


class VisitJournal(Protocol):
    """Durable record of the visits open now (SQLite live, nothing in replay).

    Written on the core thread at arrivals, zone changes and departures only: a
    few writes a minute in a busy store.
    """

    def opened(self, visit: OpenVisit) -> None: ...

    def closed(self, visit_id: str) -> None: ...

    def left_open(self) -> list[OpenVisit]: ...


class NullJournal:
    """Headless runs (replay, tests) keep no journal."""

    def opened(self, visit: OpenVisit) -> None:
        """Nothing kept."""

    def closed(self, visit_id: str) -> None:
        """Nothing kept."""

    def left_open(self) -> list[OpenVisit]:
        return []


class NullUi:
    def show(self, message: ScreenMessage) -> None:
        """Headless runs (replay) have no screens."""


class ListSink:
    """Collects events in memory (tests, replay)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)


class AdvertSource(Protocol):
    """A BLE receiver (bleak live, a simulator otherwise). Runs on the core loop.

    ``run`` delivers records until cancelled; it must survive adapter failures
    itself (retry with backoff) and report them through ``healthy``/``detail``.
    """

    scanner_ids: tuple[str, ...]

    async def run(self, deliver: Callable[[AdvertRecord], None]) -> None: ...

    @property
    def healthy(self) -> bool: ...

    @property
    def detail(self) -> str: ...


@dataclass(frozen=True, slots=True)
class QrLine:
    """One line of text a QR scanner read (CONTRACTS section 5 payloads, or junk)."""

    scanner_id: str
    text: str


class QrSource(Protocol):
    """A QR scanner (evdev or serial live). Runs on the core loop, supervised like BLE."""

    scanner_id: str

    async def run(self, deliver: Callable[[QrLine], None]) -> None: ...

    @property
    def healthy(self) -> bool: ...

    @property
    def detail(self) -> str: ...
