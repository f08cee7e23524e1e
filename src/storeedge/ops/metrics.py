"""``GET /metrics``: the Prometheus text exposition (CONTRACTS 9), from plain snapshots.

The composition root hands :class:`EdgeMetrics` one callable that returns a
:class:`Snapshot`; each scrape takes a fresh one. Labels are store-side names
only (lanes, event types, scanner, kiosk and alert kinds, rejection reasons):
never a customer id, a name or a device address.

Served to loopback clients only (the kiosk launcher, a Prometheus agent or node
exporter on the box, an SSH tunnel): the store network sees nothing of it.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

from flask import Response
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

_LOGGER = logging.getLogger(__name__)

PREFIX: Final = "storeedge"


@dataclass(frozen=True)
class Snapshot:
    """What one scrape reports. Mappings go from a label value to a number."""

    version: str = ""
    core_up: bool = True
    mqtt_connected: bool = False
    outbox_pending: Mapping[str, int] = field(default_factory=dict)  # lane
    outbox_oldest_age_s: float = 0.0
    outbox_dropped: Mapping[str, int] = field(default_factory=dict)  # lane
    outbox_healthy: bool = True
    mqtt_published: int = 0
    mqtt_acked: int = 0
    events: Mapping[str, int] = field(default_factory=dict)  # event type
    adverts: Mapping[str, int] = field(default_factory=dict)  # scanner
    scanner_up: Mapping[str, bool] = field(default_factory=dict)  # scanner (BLE and QR)
    visits_open: int | None = None  # None: the core did not answer in time
    alerts_open: Mapping[str, int] | None = None  # kind
    inbound_rejected: Mapping[str, int] = field(default_factory=dict)  # reason
    kiosk_connected: Mapping[str, bool] = field(default_factory=dict)  # kiosk
    profiles: int | None = None


def _gauge(
    name: str, doc: str, labels: Iterable[str] = (), value: float | None = None
) -> GaugeMetricFamily:
    if value is not None:
        return GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=value)
    return GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=list(labels))


def _counter(name: str, doc: str, labels: Iterable[str] = ()) -> CounterMetricFamily:
    return CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=list(labels))


def _by(
    family: GaugeMetricFamily | CounterMetricFamily, values: Mapping[str, float | bool]
) -> GaugeMetricFamily | CounterMetricFamily:
    for label, value in sorted(values.items()):
        family.add_metric([label], float(value))
    return family


def families(snap: Snapshot) -> Iterator[Metric]:
    """Every family, present even when it has no sample yet (a dashboard sees the name)."""
    info = _gauge("build_info", "Version of the running storeedge.", ["version"])
    info.add_metric([snap.version], 1.0)
    yield info
    yield _gauge("core_up", "1 while the core loop answers within 1 s.", value=float(snap.core_up))
    yield _gauge(
        "mqtt_connected", "1 while connected to central's broker.", value=float(snap.mqtt_connected)
    )
    yield _by(_gauge("outbox_pending", "Events stored, not yet acknowledged.", ["lane"]),
              snap.outbox_pending)  # fmt: skip
    yield _gauge(
        "outbox_oldest_age_seconds",
        "Age of the oldest event waiting in the outbox (0 when empty).",
        value=snap.outbox_oldest_age_s,
    )
    yield _by(_counter("outbox_dropped", "Events dropped by the lane policy.", ["lane"]),
              snap.outbox_dropped)  # fmt: skip
    yield _gauge("outbox_healthy", "0 while the disk is full or the outbox closes.",
                 value=float(snap.outbox_healthy))  # fmt: skip
    published = _counter("mqtt_published", "Events published to central.")
    published.add_metric([], snap.mqtt_published)
    yield published
    acked = _counter("mqtt_acked", "Events central's broker acknowledged.")
    acked.add_metric([], snap.mqtt_acked)
    yield acked
    yield _by(_counter("events", "Events decided since start, by type.", ["type"]), snap.events)
    yield _by(_counter("adverts", "BLE advertisements received, by scanner.", ["scanner"]),
              snap.adverts)  # fmt: skip
    yield _by(_gauge("scanner_up", "1 while a BLE or QR scanner works.", ["scanner"]),
              snap.scanner_up)  # fmt: skip
    visits = _gauge("visits_open", "Members in the store now.")
    if snap.visits_open is not None:
        visits.add_metric([], snap.visits_open)
    yield visits
    yield _by(_gauge("alerts_open", "Open staff alerts, by kind.", ["kind"]),
              snap.alerts_open or {})  # fmt: skip
    yield _by(
        _counter("inbound_rejected", "Payloads from central rejected, by reason.", ["reason"]),
        snap.inbound_rejected,
    )
    yield _by(_gauge("kiosk_connected", "1 while the kiosk's page is connected.", ["kiosk"]),
              snap.kiosk_connected)  # fmt: skip
    profiles = _gauge("profiles_loaded", "Consenting member profiles held.")
    if snap.profiles is not None:
        profiles.add_metric([], snap.profiles)
    yield profiles


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        try:
            snap = self._snapshot()
        except Exception:  # NB: a broken source must not take /metrics down with it
            _LOGGER.exception("metrics snapshot failed")
            snap = Snapshot(core_up=False)
        return list(families(snap))


class _ProcessCollector(ProcessCollector):
    """prometheus-client's process family, also under ``ProcSubset=pid``.

    # NB: the unit hides /proc/stat, where the collector reads the boot time (and
    # without it reports nothing at all); the boot time also follows from the clocks.
    """

    def _boot_time(self) -> float:
        try:
            found: float = super()._boot_time()  # type: ignore[no-untyped-call]  # NB: untyped in prometheus-client
        except OSError:
            return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
        return found


class EdgeMetrics:
    """A registry of its own (tests build many): our families, the process and Python's."""

    def __init__(self, snapshot: Callable[[], Snapshot], proc: str = "/proc") -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_SnapshotCollector(snapshot))
        _ProcessCollector(proc=proc, registry=self.registry)
        PlatformCollector(registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    content_type: Final = CONTENT_TYPE_LATEST


def is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def flask_view(metrics: EdgeMetrics) -> Callable[[], Response]:
    """The ``/metrics`` view: the exposition for loopback clients, 404 for anyone else."""
    from flask import abort, request

    def view() -> Response:
        if not is_loopback(request.remote_addr):
            abort(404)
        return Response(metrics.render(), mimetype=None, content_type=metrics.content_type)

    return view


# --- sources that have no accessor of their own -----------------------------------------------


def outbox_oldest_age_s(path: Path, now: float, tables: Iterable[str]) -> float:
    """Age of the oldest stored event, read from the outbox file (read-only, WAL-safe)."""
    if not path.exists():
        return 0.0
    oldest: float | None = None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.5)
    except sqlite3.Error:
        return 0.0
    try:
        for table in tables:
            row = conn.execute(f"SELECT payload FROM {table} ORDER BY seq LIMIT 1").fetchone()  # noqa: S608  # NB: table names from the Lane enum
            stamp = _event_time(row[0]) if row else None
            if stamp is not None and (oldest is None or stamp < oldest):
                oldest = stamp
    except sqlite3.Error as exc:
        _LOGGER.debug("outbox age unavailable: %s", exc)
    finally:
        conn.close()
    return max(0.0, now - oldest) if oldest is not None else 0.0


def _event_time(payload: bytes | str) -> float | None:
    try:
        event = json.loads(payload)
        return datetime.fromisoformat(str(event["time"])).timestamp()
    except (ValueError, KeyError, TypeError):
        return None


def rejected_by_reason(inbound: Mapping[str, int]) -> dict[str, int]:
    """``customers.rejected.bad_json`` -> ``{"customers.bad_json": n}`` (bounded keys)."""
    out: dict[str, int] = {}
    for key, count in inbound.items():
        kind, sep, reason = key.partition(".rejected.")
        if sep:
            out[f"{kind}.{reason}"] = out.get(f"{kind}.{reason}", 0) + count
    return out


def dropped_by_lane(dropped: Mapping[str, int]) -> dict[str, int]:
    """``analytics.disk_full`` -> ``{"analytics": n}``."""
    out: dict[str, int] = {}
    for key, count in dropped.items():
        lane = key.partition(".")[0]
        out[lane] = out.get(lane, 0) + count
    return out
