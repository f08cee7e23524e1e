"""Attaches the operations side to a running edge: ``/metrics`` and the kiosk watch.

The composition root creates :class:`Ops` before the pipeline (whose event and screen
sinks go through its taps), calls :meth:`Ops.attach` once the web app exists, and
``start()``/``stop()`` with the edge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from storeedge import __version__
from storeedge.adapters import outbox_db
from storeedge.adapters.mqtt import MqttLink
from storeedge.adapters.outbox import Outbox
from storeedge.core.ports import AdvertSource, QrSource
from storeedge.core.settings import Settings
from storeedge.gateway import CoreBusyError, CoreGateway
from storeedge.ops.metrics import EdgeMetrics, flask_view
from storeedge.ops.taps import Taps
from storeedge.ops.wiring import CoreView, EdgeSources, KioskWatch, scanners_up, snapshot
from storeedge.web import WebApp


class Edge(Protocol):
    """The parts of :class:`storeedge.app.Edge` the operations side reads."""

    settings: Settings
    core: CoreGateway
    link: MqttLink
    outbox: Outbox
    web: WebApp


class Ops:
    """Taps first (the pipeline is built on them), then :meth:`attach` once the web app exists."""

    def __init__(self) -> None:
        self.taps = Taps()
        self.metrics: EdgeMetrics | None = None
        self.watch: KioskWatch | None = None

    def attach(
        self,
        edge: Edge,
        sources: Sequence[AdvertSource],
        qr: Sequence[QrSource],
        alert: Callable[[str, str, str], None],
    ) -> None:
        self.metrics, self.watch = _attach(edge, self.taps, sources, qr, alert)

    def start(self) -> None:
        if self.watch is not None:
            self.watch.start()

    def stop(self) -> None:
        if self.watch is not None:
            self.watch.stop()


def kiosks_connected(edge: Edge) -> Callable[[], Mapping[str, bool]]:
    """Whether each configured kiosk has a page connected to its Socket.IO room."""
    from storeedge.web.sink import KIOSK_NS, kiosk_room

    manager = edge.web.socketio.server.manager
    kiosk_ids = [k.id for k in edge.settings.kiosks]

    def connected() -> dict[str, bool]:
        out: dict[str, bool] = {}
        for kiosk_id in kiosk_ids:
            try:
                members = manager.get_participants(KIOSK_NS, kiosk_room(kiosk_id))
                out[kiosk_id] = any(True for _ in members)
            except KeyError:  # NB: no room yet: nobody ever joined
                out[kiosk_id] = False
        return out

    return connected


def _attach(
    edge: Edge,
    taps: Taps,
    sources: Sequence[AdvertSource],
    qr: Sequence[QrSource],
    alert: Callable[[str, str, str], None],
) -> tuple[EdgeMetrics, KioskWatch]:
    settings = edge.settings
    configured = [s.id for s in settings.scanners] + [q.id for q in settings.qr_scanners]

    def devices() -> dict[str, bool]:
        served = [(tuple(getattr(s, "scanner_ids", ())), s.healthy) for s in sources]
        served += [((q.scanner_id,), q.healthy) for q in qr]
        return scanners_up(configured, served)

    def gauges() -> CoreView | None:
        try:
            visits, alerts, profiles = edge.core.gauges()
        except CoreBusyError:
            return None
        return CoreView(visits, alerts, profiles)

    connected = kiosks_connected(edge)
    src = EdgeSources(
        version=__version__,
        gauges=gauges,
        mqtt_connected=lambda: edge.link.connected,
        mqtt_counters=lambda: dict(edge.link.counters),
        inbound_counters=lambda: edge.link.inbound_counters,
        outbox_stats=edge.outbox.stats,
        outbox_healthy=lambda: edge.outbox.healthy,
        outbox_path=settings.data.dir / "outbox.sqlite",
        outbox_tables=[outbox_db.table(lane) for lane in outbox_db.LANES],
        scanners_up=devices,
        kiosks_connected=connected,
        taps=taps,
    )
    metrics = EdgeMetrics(lambda: snapshot(src))
    edge.web.app.add_url_rule("/metrics", "metrics", flask_view(metrics))

    def kiosk_offline(kiosk_id: str, detail: str) -> None:
        alert_id = edge.outbox.emit_alert("kiosk_offline", {"kiosk_id": kiosk_id, "detail": detail})
        alert("kiosk_offline", detail, alert_id)

    return metrics, KioskWatch(connected, kiosk_offline)
