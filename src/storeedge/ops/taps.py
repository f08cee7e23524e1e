"""Taps on the pipeline's outputs: a log line per decision, counters for ``/metrics``.

:class:`Taps` wraps the event sink and the UI sink the pipeline is given and
counts adverts per scanner. Each log line names what happened with visit, alert
and kiosk ids and counts: never a customer id, a name or a device address.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Mapping
from typing import Final

from storeedge.core.events import Event
from storeedge.core.ports import AdvertRecord, EventSink, UiSink
from storeedge.core.screens import Greeting, KioskCleared, ScreenMessage

_LOGGER = logging.getLogger("storeedge.activity")

# The data fields a log line may show, per event type (the rest stays out of the journal).
_SHOWN: Final[Mapping[str, tuple[str, ...]]] = {
    "storeedge.customer.arrived": ("visit_id", "zone", "via"),
    "storeedge.customer.zone_changed": ("visit_id", "previous_zone", "zone"),
    "storeedge.customer.departed": ("visit_id", "dwell_s"),
    "storeedge.kiosk.session_started": ("kiosk_id", "session_id", "method"),
    "storeedge.kiosk.session_ended": ("kiosk_id", "session_id", "reason"),
    "storeedge.alert.raised": ("alert_id", "kind", "zone"),
    "storeedge.alert.claimed": ("alert_id", "kind"),
    "storeedge.alert.resolved": ("alert_id", "kind"),
    "storeedge.alert.escalated": ("alert_id", "kind"),
    "storeedge.footfall.counted": ("window_s", "visitors"),
    "storeedge.pickup.handed_over": ("order_id",),
    "storeedge.edge.dropped": ("lane", "count", "reason"),
}
# NB: footfall windows come every minute: debug, not info. The core logs arrivals and
# handovers itself: not twice.
_QUIET: Final = frozenset({"storeedge.footfall.counted", "storeedge.beacon.telemetry"})
_LOGGED_BY_CORE: Final = frozenset({"storeedge.customer.arrived", "storeedge.pickup.handed_over"})


def describe(event: Event) -> str:
    fields = _SHOWN.get(event.type, ())
    shown = " ".join(f"{k}={event.data[k]}" for k in fields if k in event.data)
    return f"{event.type.removeprefix('storeedge.')} {shown}".rstrip()


class _EventTap:
    def __init__(self, taps: Taps, sink: EventSink) -> None:
        self._taps = taps
        self._sink = sink

    def emit(self, event: Event) -> None:
        self._taps.count_event(event)
        self._sink.emit(event)


class _UiTap:
    def __init__(self, ui: UiSink) -> None:
        self._ui = ui

    def show(self, message: ScreenMessage) -> None:
        if isinstance(message, Greeting):
            _LOGGER.info("greeting shown at kiosk %s", message.kiosk_id)
        elif isinstance(message, KioskCleared):
            _LOGGER.info("greeting cleared at kiosk %s", message.kiosk_id)
        self._ui.show(message)


class Taps:
    """Counters read by ``/metrics`` from any thread; updated on the core loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: collections.Counter[str] = collections.Counter()
        self._adverts: collections.Counter[str] = collections.Counter()

    def events(self, sink: EventSink) -> EventSink:
        return _EventTap(self, sink)

    def ui(self, ui: UiSink) -> UiSink:
        return _UiTap(ui)

    def count_event(self, event: Event) -> None:
        with self._lock:
            self._events[event.type] += 1
        quiet = event.type in _QUIET or event.type in _LOGGED_BY_CORE
        _LOGGER.log(logging.DEBUG if quiet else logging.INFO, "%s", describe(event))

    def advert(self, record: AdvertRecord) -> None:
        with self._lock:
            self._adverts[record.scanner] += 1

    def event_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._events)

    def advert_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._adverts)
