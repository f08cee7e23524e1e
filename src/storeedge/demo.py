"""``storeedge demo`` and ``run --simulate``: the whole system with simulated devices.

Kept out of the composition root (``storeedge.app``) so the service itself never
imports a simulator; this module wires the simulators to a real ``Edge``.
"""

from __future__ import annotations

import errno
import logging
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storeedge.adapters.clock import SystemClock
from storeedge.adapters.crypto import aes128_ecb
from storeedge.app import Edge, until_signalled
from storeedge.config import load_settings

_LOGGER = logging.getLogger(__name__)


class PortTakenError(Exception):
    """The demo's web port is in use; the message says how to pick another."""


def _check_port(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortTakenError(
                f"port {port} is already in use; pick another: make demo PORT={port + 1}"
                f" (or storeedge demo --port {port + 1})"
            ) from None


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
        from storeedge.simulators import demo_data
        from storeedge.simulators.central import CentralSimulator
        from storeedge.simulators.demo_walk import SCRIPT, DemoWalk

        # NB: before anything is started, so a taken port leaves nothing running behind.
        _check_port("127.0.0.1", self._web_port)
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
        self._control(self.edge)
        self.edge.start()

    def _control(self, edge: Edge) -> None:
        """The simulator control page (/demo): Jean's card, his app, his leaving."""
        from storeedge.demo_control import DemoParts, register
        from storeedge.simulators import demo_data

        central = self.central

        def send(name: str, data: dict[str, Any]) -> str:
            return str(central.send_command(edge.settings.store.edge_id, name, data))

        register(edge.web.app, DemoParts(edge.core, demo_data.jean(), edge.clock.now, send))

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
    with until_signalled() as stop:
        try:
            demo.start()
        except Exception as exc:  # noqa: BLE001  # any start failure: tear down, say why
            demo.stop()
            say(f"storeedge demo: could not start: {exc}")
            return 1
        assert demo.edge is not None
        # NB: a one-time enrolment URL: the browser opening it becomes kiosk-1's screen.
        say(f"kiosk:   {demo.edge.web.enrol_url('kiosk-1')}")
        say(f"staff:   {demo.edge.web.staff_url()}")
        say(f"demo:    {demo.edge.web.base_url()}/demo  (simulator: Jean's card, app, leaving)")
        say(f"broker:  mqtt://{demo.broker.host}:{demo.broker.port} (private mosquitto)")
        say(f"data:    {demo.data_dir}")
        say("Jean walks in every two minutes; watch the kiosk and the staff page. Ctrl-C stops.")
        stop.wait()
    say("stopping...")
    demo.stop()
    return 0
