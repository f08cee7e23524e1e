"""The composition root: the one place that chooses real or simulated parts and wires them.

Threads and loops (docs/architecture.md draws them):

- the *core loop* (:class:`storeedge.runtime.CoreLoop`) owns the pipeline and runs
  the BLE sources (bleak needs asyncio) and the ticker;
- paho's network thread (inside :class:`MqttLink`) publishes from the outbox and
  applies inbound payloads to the SQLite cache, then hands them to the core;
- Werkzeug's request threads (inside :class:`WebApp`) serve the kiosk and staff
  pages.

:class:`storeedge.gateway.CoreGateway` is the one way from those threads into the core.
``replay`` and ``record`` take their pipeline and sources from here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from types import FrameType
from typing import Any, Final

from storeedge import __version__
from storeedge.adapters.cache import LocalCache
from storeedge.adapters.clock import SystemClock
from storeedge.adapters.mqtt import MqttLink
from storeedge.adapters.outbox import Outbox
from storeedge.adapters.visit_journal import SqliteVisitJournal
from storeedge.core.clock import Clock
from storeedge.core.ports import AdvertRecord, AdvertSource, QrLine, QrSource, UiSink
from storeedge.core.profiles import CustomerProfile
from storeedge.core.screens import ScreenMessage
from storeedge.core.settings import Settings
from storeedge.gateway import CoreGateway
from storeedge.ops.attach import Ops
from storeedge.ops.notify import ServiceManager
from storeedge.parts import build_pipeline, device_sources, qr_sources
from storeedge.runtime import CoreLoop
from storeedge.web import WebApp

_LOGGER = logging.getLogger(__name__)

TICK_S: Final = 0.25
BACKOFF_MAX_S: Final = 30.0
# The stop sequence's budget, step by step (docs/architecture.md); systemd allows 10 s.
STOP_CORE_S: Final = 1.0  # depart open visits
STOP_TASKS_S: Final = 0.5  # cancel device tasks
STOP_LINK_S: Final = 2.0  # publish "offline", disconnect
STOP_LOOP_S: Final = 1.0  # the core thread ends
STOP_BUDGET_S: Final = 8.0


class UiRelay:
    """Lets the pipeline exist before the screens do; forwards once they are attached.

    Messages shown before that (an outbox found corrupt at start) are kept, a bounded
    few, and replayed on attach, so the staff console still hears of them.
    """

    EARLY_LIMIT: Final = 32

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._target: UiSink | None = None
        self._early: list[ScreenMessage] = []

    def attach(self, target: UiSink) -> None:
        with self._lock:
            self._target, early, self._early = target, self._early, []
        for message in early:
            target.show(message)

    def show(self, message: ScreenMessage) -> None:
        with self._lock:
            target = self._target
            if target is None:
                if len(self._early) < self.EARLY_LIMIT:
                    self._early.append(message)
                return
        target.show(message)


class Edge:
    """One running edge: pipeline, outbox, MQTT link, screens and device sources."""

    def __init__(
        self,
        settings: Settings,
        sources: Sequence[AdvertSource],
        clock: Clock | None = None,
        extra_profiles: Sequence[CustomerProfile] = (),
        qr: Sequence[QrSource] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.boot_id = str(uuid.uuid4())
        self.loop = CoreLoop()
        data = settings.data.dir
        self._ui = UiRelay()
        self.outbox = Outbox(
            data / "outbox.sqlite", settings.source_uri, alert=self._technician_alert
        )
        self.cache = LocalCache(data / "cache.sqlite")
        self.journal = SqliteVisitJournal(data / "visits.sqlite")
        self.ops = Ops()  # NB: log lines, /metrics and the kiosk watch (storeedge.ops)
        events, ui = self.ops.taps.events(self.outbox), self.ops.taps.ui(self._ui)
        self._pipeline = build_pipeline(settings, self.clock, events, ui, journal=self.journal)
        self.core = CoreGateway(self.loop, self._pipeline)
        self.web = WebApp(settings, self.core)
        self._ui.attach(self.web.ui)
        self.link = MqttLink(
            settings, self.outbox, self.cache, self.core, boot_id=self.boot_id, version=__version__
        )
        self._sources = list(sources)
        self._qr = list(qr_sources(settings) if qr is None else qr)
        self._extra_profiles = list(extra_profiles)
        self._tasks: list[asyncio.Task[None]] = []
        self.web.health.add("mqtt", lambda: {"healthy": self.link.connected, **self.link.status()})
        self.web.health.add(
            "outbox", lambda: {"healthy": self.outbox.healthy, **self.outbox.stats()}
        )
        self.web.health.add("devices", self._device_health)
        self.ops.attach(self, self._sources, self._qr, self._technician_alert)

    def _device_health(self) -> dict[str, Any]:
        """A failing BLE adapter or QR scanner is reported here, never fatal."""
        devices = [
            {
                "scanners": list(getattr(s, "scanner_ids", ())),
                "healthy": s.healthy,
                "detail": s.detail,
            }
            for s in self._sources
        ]
        scanners = [
            {"scanner": q.scanner_id, "healthy": q.healthy, "detail": q.detail} for q in self._qr
        ]
        healthy = all(d["healthy"] for d in devices) and all(q["healthy"] for q in scanners)
        return {"healthy": healthy, "sources": devices, "qr_scanners": scanners}

    def _technician_alert(self, kind: str, detail: str, alert_id: str) -> None:
        """Edge trouble (outbox corrupt, disk full), raised for staff like any alert.

        Called from the outbox's writer thread (or during its construction, before the
        core loop runs: the hand-over then waits in the loop's queue). The outbox itself
        records the ``storeedge.alert.raised`` event under the same ``alert_id``.
        """
        _LOGGER.error("technician alert %s: %s", kind, detail)

        def adopt() -> None:
            self._pipeline.adopt_alert(alert_id, kind, detail)

        # NB: submitted, never awaited: the writer thread must not wait on the core, and
        # at construction the pipeline does not exist yet (it does when the loop runs this).
        self.loop.submit(adopt)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self.loop.start()
        profiles = [*self.cache.profiles(), *self._extra_profiles]
        loaded = self.core.load_profiles(profiles)
        self.core.load_catalog(self.cache.products())  # NB: the kiosks' prices work offline
        closed = self.core.close_left_open()
        if closed:
            _LOGGER.warning("%d visit(s) left open by the previous run departed", closed)
        self.web.start()
        self.link.start()
        self.loop.call(self._start_tasks)
        self.ops.start()
        _LOGGER.info(
            "storeedge %s up: store %s edge %s, %d profiles from the cache, %d device sources",
            __version__,
            self.settings.store.id,
            self.settings.store.edge_id,
            loaded,
            len(self._sources),
        )

    def _start_tasks(self) -> None:
        loop = self.loop.loop
        self._tasks.append(loop.create_task(self._ticker(), name="ticker"))
        for source in self._sources:
            self._tasks.append(loop.create_task(self._supervise(source), name="source"))
        for scanner in self._qr:
            self._tasks.append(loop.create_task(self._supervise_qr(scanner), name="qr"))

    def stop(self) -> float:
        """Stops everything within :data:`STOP_BUDGET_S`; returns the seconds it took.

        Order: open visits depart and device tasks end (on the core), the screens close,
        the MQTT link says "offline", the core thread ends, the SQLite files close.
        """
        started = time.monotonic()
        self.ops.stop()
        try:
            departed = self.core.depart_all("edge_stopped", timeout=STOP_CORE_S)
            if departed:
                _LOGGER.info("%d open visit(s) departed at stop", departed)
            self.loop.call(self._cancel_tasks, timeout=STOP_TASKS_S)
        except Exception:  # noqa: BLE001  # NB: a stalled core must not stop the shutdown
            _LOGGER.warning("core did not finish its stop step in time")
        self.web.stop()
        self.link.stop(STOP_LINK_S)
        self.loop.stop(STOP_LOOP_S)
        self.journal.close()
        self.outbox.close()
        self.cache.close()
        took = time.monotonic() - started
        _LOGGER.info("storeedge stopped in %.1f s", took)
        return took

    def _cancel_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    # --- on the core loop -----------------------------------------------------------------

    async def _ticker(self) -> None:
        while True:
            try:
                # NB: on the core thread already; the kiosks' offline banner follows the link
                self._pipeline.kiosk.set_online(self.link.connected)
                self._pipeline.tick()
            except Exception:  # NB: a bug in a rule must not stop departures for everyone
                _LOGGER.exception("pipeline tick failed")
            await asyncio.sleep(TICK_S)

    def _deliver(self, record: AdvertRecord) -> None:
        self.ops.taps.advert(record)
        try:
            self._pipeline.on_advert(record)
        except Exception:  # NB: one bad record must not stop the scanner feeding us
            self._pipeline.counters["advert.pipeline_error"] += 1
            _LOGGER.exception("pipeline rejected a record")

    def _scanned(self, line: QrLine) -> None:
        try:
            self._pipeline.on_qr(line.scanner_id, line.text)
        except Exception:  # NB: one bad scan must not stop the scanner feeding us
            self._pipeline.counters["qr.pipeline_error"] += 1
            _LOGGER.exception("pipeline rejected a QR scan")

    async def _supervise_qr(self, scanner: QrSource) -> None:
        """A missing or unplugged QR scanner is reported and retried, never fatal."""
        await _keep_running(lambda: scanner.run(self._scanned), f"QR scanner {scanner.scanner_id}")

    async def _supervise(self, source: AdvertSource) -> None:
        """Keeps a device source running: a failing adapter never stops the service."""
        await _keep_running(lambda: source.run(self._deliver), "BLE source")


async def _keep_running(run: Callable[[], Awaitable[None]], what: str) -> None:
    """Runs a device until cancelled, retrying with backoff; its health says what failed."""
    delay = 1.0
    while True:
        try:
            await run()
            delay = 1.0
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  # NB: reported in /healthz and retried
            _LOGGER.warning("%s failed: %s; retrying in %.0f s", what, exc, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, BACKOFF_MAX_S)


# --- the service ------------------------------------------------------------------------


@contextlib.contextmanager
def until_signalled() -> Iterator[threading.Event]:
    """SIGINT and SIGTERM set the event; the previous handlers come back afterwards."""
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_service(settings: Settings, simulate: str | None = None) -> int:
    # NB: MqttLink.start() logs the plaintext warning when the config says tls = false.
    sources, extra = device_sources(settings, simulate)
    edge = Edge(settings, sources, extra_profiles=extra)
    systemd = ServiceManager.from_env(edge.core.alive)
    with until_signalled() as stop:
        edge.start()
        systemd.ready(f"serving store {settings.store.id} edge {settings.store.edge_id}")
        print(f"kiosk: {edge.web.kiosk_url()}", flush=True)  # noqa: T201  # CLI output
        print(f"staff: {edge.web.staff_url()}", flush=True)  # noqa: T201
        stop.wait()
    systemd.stopping()
    edge.stop()
    return 0
