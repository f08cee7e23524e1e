"""The composition root: the one place that chooses real or simulated parts and wires them.

Threads and loops (docs/architecture.md draws them):

- the *core loop* (:class:`storeedge.runtime.CoreLoop`) owns the pipeline and runs
  the BLE sources (bleak needs asyncio) and the ticker;
- paho's network thread (inside :class:`MqttLink`) publishes from the outbox and
  applies inbound payloads to the SQLite cache, then hands them to the core loop;
- Werkzeug's request threads (inside :class:`WebApp`) serve the kiosk and staff
  pages and hand staff actions to the core loop.

``CoreLoop.submit``/``call`` is the one bridge into the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from storeedge import __version__
from storeedge.adapters.cache import LocalCache
from storeedge.adapters.clock import SystemClock
from storeedge.adapters.crypto import aes128_ecb
from storeedge.adapters.mqtt import MqttLink
from storeedge.adapters.outbox import Outbox
from storeedge.config import Settings, load_settings
from storeedge.core.clock import Clock
from storeedge.core.events import JSON
from storeedge.core.pipeline import Pipeline
from storeedge.core.ports import AdvertRecord, AdvertSource, UiSink
from storeedge.core.profiles import CustomerProfile, parse_profile
from storeedge.runtime import CoreLoop
from storeedge.web import WebApp

_LOGGER = logging.getLogger(__name__)

TICK_S = 0.25
BACKOFF_MAX_S = 30.0


class UiRelay:
    """Lets the pipeline exist before the screens do; forwards once they are attached.

    Signals sent before that (an outbox found corrupt at start) are kept, a bounded
    few, and replayed on attach, so the staff console still hears of them.
    """

    EARLY_LIMIT = 32

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._target: UiSink | None = None
        self._early: list[tuple[str, Mapping[str, JSON]]] = []

    def attach(self, target: UiSink) -> None:
        with self._lock:
            self._target, early, self._early = target, self._early, []
        for channel, payload in early:
            target.signal(channel, payload)

    def signal(self, channel: str, payload: Mapping[str, JSON]) -> None:
        with self._lock:
            target = self._target
            if target is None:
                if len(self._early) < self.EARLY_LIMIT:
                    self._early.append((channel, payload))
                return
        target.signal(channel, payload)


class CoreInbound:
    """What central sends, handed from paho's thread to the core loop.

    It is called after the payload is committed to the local cache, so a crash
    in between loses nothing: the cache is reloaded at start.
    """

    def __init__(self, core: CoreLoop, pipeline: Pipeline) -> None:
        self._core = core
        self._pipeline = pipeline

    def on_profile(self, profile: CustomerProfile) -> None:
        self._core.submit(lambda: self._pipeline.upsert_profile(profile))

    def on_erase(self, customer_id: str) -> None:
        # NB: waits, so that an erasure is complete in memory when the link acknowledges it.
        self._core.call(lambda: self._pipeline.erase_customer(customer_id))

    def on_catalog(self, sku: str, product: dict[str, Any] | None) -> None:
        """The kiosk reads products from the cache; nothing to do in the core yet."""

    def on_command(self, name: str, event: dict[str, Any]) -> dict[str, Any] | None:
        _LOGGER.info("command %s (id %s) has no handler yet", name, event.get("id"))
        return {"status": "unsupported", "command": name}


class Edge:
    """One running edge: pipeline, outbox, MQTT link, screens and device sources."""

    def __init__(
        self,
        settings: Settings,
        sources: Sequence[AdvertSource],
        clock: Clock | None = None,
        extra_profiles: Sequence[CustomerProfile] = (),
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.boot_id = str(uuid.uuid4())
        self.core = CoreLoop()
        data = settings.data.dir
        self._ui = UiRelay()
        self.outbox = Outbox(
            data / "outbox.sqlite", settings.source_uri, alert=self._technician_alert
        )
        self.cache = LocalCache(data / "cache.sqlite")
        self.pipeline = Pipeline(settings, self.clock, self.outbox, self._ui, aes128_ecb)
        self.web = WebApp(settings, self.core, self.pipeline)
        self._ui.attach(self.web.ui)
        self.link = MqttLink(
            settings,
            self.outbox,
            self.cache,
            CoreInbound(self.core, self.pipeline),
            boot_id=self.boot_id,
            version=__version__,
        )
        self._sources = list(sources)
        self._extra_profiles = list(extra_profiles)
        self._tasks: list[asyncio.Task[None]] = []
        self.web.health.add("mqtt", lambda: {"healthy": self.link.connected, **self.link.status()})
        self.web.health.add(
            "outbox", lambda: {"healthy": self.outbox.healthy, **self.outbox.stats()}
        )
        self.web.health.add("devices", self._device_health)

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
        return {"healthy": all(d["healthy"] for d in devices), "sources": devices}

    def _technician_alert(self, kind: str, detail: str, alert_id: str) -> None:
        """Edge trouble (outbox corrupt, disk full), raised for staff like any alert.

        Called from the outbox's writer thread (or during its construction, before the
        core loop runs: the hand-over then waits in the loop's queue). The outbox itself
        records the ``storeedge.alert.raised`` event under the same ``alert_id``.
        """
        _LOGGER.error("technician alert %s: %s", kind, detail)

        def adopt() -> None:
            alert = self.pipeline.alerts.adopt(
                alert_id, kind, "back-office", self.clock.now(), {"detail": detail}
            )
            self._ui.signal("staff.alert", alert.view())

        self.core.submit(adopt)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self.core.start()
        profiles = [*self.cache.profiles(), *self._extra_profiles]
        self.core.call(lambda: self.pipeline.load_profiles(profiles))
        self.web.start()
        self.link.start()
        self.core.call(self._start_tasks)
        _LOGGER.info(
            "storeedge %s up: store %s edge %s, %d profiles, %d device sources",
            __version__,
            self.settings.store.id,
            self.settings.store.edge_id,
            len(profiles),
            len(self._sources),
        )

    def _start_tasks(self) -> None:
        loop = self.core.loop
        self._tasks.append(loop.create_task(self._ticker(), name="ticker"))
        for source in self._sources:
            self._tasks.append(loop.create_task(self._supervise(source), name="source"))

    def stop(self) -> None:
        """Stops everything; returns within a few seconds, leaving no thread serving."""
        with contextlib.suppress(Exception):
            self.core.call(self._cancel_tasks, timeout=2.0)
        self.web.stop()
        self.link.stop(2.0)
        self.core.stop()
        self.outbox.close()
        self.cache.close()

    def _cancel_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    # --- on the core loop -----------------------------------------------------------------

    async def _ticker(self) -> None:
        while True:
            try:
                self.pipeline.tick()
            except Exception:  # NB: a bug in a rule must not stop departures for everyone
                _LOGGER.exception("pipeline tick failed")
            await asyncio.sleep(TICK_S)

    def _deliver(self, record: AdvertRecord) -> None:
        try:
            self.pipeline.on_advert(record)
        except Exception:  # NB: one bad record must not stop the scanner feeding us
            self.pipeline.counters["advert.pipeline_error"] += 1
            _LOGGER.exception("pipeline rejected a record")

    async def _supervise(self, source: AdvertSource) -> None:
        """Keeps a device source running: a failing adapter never stops the service."""
        delay = 1.0
        while True:
            try:
                await source.run(self._deliver)
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("device source failed; retrying in %.0f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_S)


# --- the service ------------------------------------------------------------------------


@contextlib.contextmanager
def _until_signalled() -> Iterator[threading.Event]:
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


def _simulated_sources(
    settings: Settings, scenario: str
) -> tuple[list[AdvertSource], list[CustomerProfile]]:
    from simulators import demo_data
    from simulators.demo_walk import DemoWalk

    if scenario != "walk":
        from simulators import live

        population = live.population(scenario)
        source = live.SimulatedBle(settings, population, scenario)
        return [source], [parse_profile(p) for p in population]
    member = demo_data.jean()
    walk = DemoWalk(settings, [member], aes128_ecb, SystemClock())
    return [walk], [parse_profile(member)]


def _hardware_sources(settings: Settings) -> list[AdvertSource]:
    from storeedge.adapters import ble

    return ble.sources_for(settings)


def run_service(settings: Settings, simulate: str | None = None) -> int:
    # NB: MqttLink.start() logs the plaintext warning when the config says tls = false.
    extra: list[CustomerProfile] = []
    if simulate:
        sources, extra = _simulated_sources(settings, simulate)
    else:
        sources = _hardware_sources(settings)
    edge = Edge(settings, sources, extra_profiles=extra)
    with _until_signalled() as stop:
        edge.start()
        print(f"kiosk: {edge.web.kiosk_url()}", flush=True)  # noqa: T201  # CLI output
        print(f"staff: {edge.web.staff_url()}", flush=True)  # noqa: T201
        stop.wait()
    edge.stop()
    return 0


# --- the demo ---------------------------------------------------------------------------


class Demo:
    """The whole system on one machine: broker, central, devices, edge."""

    def __init__(
        self,
        web_port: int = 8080,
        data_dir: Path | None = None,
        script: tuple[tuple[str, float], ...] | None = None,
    ) -> None:
        from storeedge.adapters.broker import PrivateMosquitto

        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="storeedge-demo-")
            data_dir = Path(self._tmp.name)
        self.data_dir = data_dir
        self.broker = PrivateMosquitto()
        self._web_port = web_port
        self._script = script
        self.central: Any = None
        self.edge: Edge | None = None

    def start(self) -> None:
        from simulators import demo_data
        from simulators.central import CentralSimulator
        from simulators.demo_walk import SCRIPT, DemoWalk

        self.broker.start()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "demo.toml"
        config.write_text(
            demo_data.DEMO_TOML.format(
                mqtt_port=self.broker.port,
                data_dir=self.data_dir / "edge",
                web_port=self._web_port,
            ),
            encoding="utf-8",
        )
        settings = load_settings(config)
        self.central = CentralSimulator(self.broker.host, self.broker.port, settings.store.id)
        self.central.start()
        self.central.publish_profile(demo_data.jean())
        for sku, product in demo_data.CATALOG.items():
            self.central.publish_catalog(sku, product)
        walk = DemoWalk(
            settings, [demo_data.jean()], aes128_ecb, SystemClock(), script=self._script or SCRIPT
        )
        self.edge = Edge(settings, [walk])
        self.edge.start()

    def stop(self) -> None:
        for step in (self._stop_edge, self._stop_central, self.broker.close):
            try:
                step()
            except Exception:  # NB: keep tearing down the rest, whatever failed first
                _LOGGER.exception("demo shutdown step failed")
        if self._tmp is not None:
            self._tmp.cleanup()

    def _stop_edge(self) -> None:
        if self.edge is not None:
            self.edge.stop()

    def _stop_central(self) -> None:
        if self.central is not None:
            self.central.stop()


def run_demo(web_port: int = 8080, data_dir: Path | None = None) -> int:
    demo = Demo(web_port=web_port, data_dir=data_dir)
    say: Callable[[str], None] = lambda line: print(line, flush=True)  # noqa: E731, T201
    with _until_signalled() as stop:
        try:
            demo.start()
        except Exception as exc:  # noqa: BLE001  # any start failure: tear down, say why
            demo.stop()
            say(f"storeedge demo: could not start: {exc}")
            return 1
        assert demo.edge is not None
        say(f"kiosk:   {demo.edge.web.kiosk_url()}")
        say(f"staff:   {demo.edge.web.staff_url()}")
        say(f"broker:  mqtt://{demo.broker.host}:{demo.broker.port} (private mosquitto)")
        say(f"data:    {demo.data_dir}")
        say("Jean walks in every two minutes; watch the kiosk and the staff page. Ctrl-C stops.")
        stop.wait()
    say("stopping...")
    demo.stop()
    return 0
