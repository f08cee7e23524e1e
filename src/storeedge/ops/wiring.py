"""The operations side of a running edge: ``/metrics`` and the kiosk watch, from callables.

:class:`EdgeSources` names what the composition root hands over (plain callables,
no Edge type), :func:`snapshot` turns them into a :class:`~storeedge.ops.metrics.Snapshot`,
and :class:`KioskWatch` follows each kiosk page's connection: a page away for
``offline_after_s`` raises one ``kiosk_offline`` technician alert (staff console and
central), and a log line when it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from storeedge.ops.metrics import (
    Snapshot,
    dropped_by_lane,
    outbox_oldest_age_s,
    rejected_by_reason,
)
from storeedge.ops.taps import Taps

_LOGGER = logging.getLogger(__name__)

OFFLINE_AFTER_S: Final = 300.0
WATCH_EVERY_S: Final = 5.0


@dataclass(frozen=True)
class CoreView:
    """What only the core loop may read, taken there in one call (``CoreGateway.gauges``)."""

    visits_open: int
    alerts_open: Mapping[str, int]
    profiles: int


@dataclass(frozen=True)
class EdgeSources:
    version: str
    gauges: Callable[[], CoreView | None]  # None: the core did not answer in time
    mqtt_connected: Callable[[], bool]
    mqtt_counters: Callable[[], Mapping[str, int]]
    inbound_counters: Callable[[], Mapping[str, int]]
    outbox_stats: Callable[[], Mapping[str, Any]]
    outbox_healthy: Callable[[], bool]
    outbox_path: Path
    outbox_tables: Sequence[str]
    scanners_up: Callable[[], Mapping[str, bool]]
    kiosks_connected: Callable[[], Mapping[str, bool]]
    taps: Taps
    wall: Callable[[], float] = time.time


def snapshot(src: EdgeSources) -> Snapshot:
    view = src.gauges()
    stats = src.outbox_stats()
    mqtt = src.mqtt_counters()
    return Snapshot(
        version=src.version,
        core_up=view is not None,
        mqtt_connected=src.mqtt_connected(),
        outbox_pending=dict(stats.get("pending", {})),
        outbox_oldest_age_s=outbox_oldest_age_s(src.outbox_path, src.wall(), src.outbox_tables),
        outbox_dropped=dropped_by_lane(stats.get("dropped", {})),
        outbox_healthy=src.outbox_healthy(),
        mqtt_published=int(mqtt.get("published", 0)),
        mqtt_acked=int(mqtt.get("acked", 0)),
        events=src.taps.event_counts(),
        adverts=src.taps.advert_counts(),
        scanner_up=dict(src.scanners_up()),
        visits_open=view.visits_open if view else None,
        alerts_open=view.alerts_open if view else None,
        inbound_rejected=rejected_by_reason(src.inbound_counters()),
        kiosk_connected=dict(src.kiosks_connected()),
        profiles=view.profiles if view else None,
    )


def scanners_up(
    configured: Sequence[str], sources: Sequence[tuple[Sequence[str], bool]]
) -> dict[str, bool]:
    """Each configured scanner: up when a source serving it is healthy; down if none does."""
    up = dict.fromkeys(configured, False)
    for scanner_ids, healthy in sources:
        for scanner_id in scanner_ids:
            up[scanner_id] = up.get(scanner_id, False) or healthy
    return up


class KioskWatch:
    """Follows which kiosk pages are connected; alerts once per long absence."""

    def __init__(
        self,
        connected: Callable[[], Mapping[str, bool]],
        alert: Callable[[str, str], None],
        offline_after_s: float = OFFLINE_AFTER_S,
        every_s: float = WATCH_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connected = connected
        self._alert = alert
        self._offline_after = offline_after_s
        self._every = every_s
        self._clock = clock
        self._last_seen: dict[str, float] = {}
        self._alerted: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="storeedge-kiosk-watch", daemon=True)

    def check(self) -> None:
        now = self._clock()
        for kiosk_id, up in self._connected().items():
            seen = self._last_seen.setdefault(kiosk_id, now)
            if up:
                self._last_seen[kiosk_id] = now
                if kiosk_id in self._alerted:
                    self._alerted.discard(kiosk_id)
                    _LOGGER.info("kiosk %s page connected again", kiosk_id)
            elif now - seen >= self._offline_after and kiosk_id not in self._alerted:
                self._alerted.add(kiosk_id)
                detail = f"kiosk {kiosk_id}: no page connected for {now - seen:.0f} s"
                _LOGGER.error("%s (check storeedge-kiosk.service on the box)", detail)
                self._alert(kiosk_id, detail)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.check()
            except Exception:  # NB: the watch must outlive one bad sample
                _LOGGER.exception("kiosk watch failed")

    def start(self) -> KioskWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
