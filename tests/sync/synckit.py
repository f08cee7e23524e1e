"""Shared helpers for the sync tests: a recording inbound handler, events, a running link."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from storeedge.adapters.cache import LocalCache
from storeedge.adapters.mqtt import MqttLink
from storeedge.adapters.outbox import Outbox
from storeedge.config import Settings
from storeedge.core.events import Event, EventFactory
from storeedge.core.profiles import CustomerProfile

FACTORY = EventFactory()


class RecordingHandler:
    """An InboundHandler that remembers every call (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.profiles: dict[str, CustomerProfile] = {}
        self.erased: list[str] = []
        self.catalog: dict[str, dict[str, Any] | None] = {}
        self.commands: list[tuple[str, dict[str, Any]]] = []

    def on_profile(self, profile: CustomerProfile) -> None:
        with self.lock:
            self.profiles[profile.customer_id] = profile

    def on_erase(self, customer_id: str) -> None:
        with self.lock:
            self.profiles.pop(customer_id, None)
            self.erased.append(customer_id)

    def on_catalog(self, sku: str, product: dict[str, Any] | None) -> None:
        with self.lock:
            self.catalog[sku] = product

    def on_command(self, name: str, event: dict[str, Any]) -> dict[str, Any] | None:
        with self.lock:
            self.commands.append((name, event))
        return {"status": "ok", "echo": event.get("data")}


def arrival(n: int, customer_id: str = "C-000123", at: float = 1_763_906_709.0) -> Event:
    return FACTORY.make(
        "storeedge.customer.arrived",
        {
            "customer_id": customer_id,
            "visit_id": f"v-{n}",
            "zone": "entrance",
            "via": "ble",
            "n": n,
        },
        at + n / 1000,
    )


def telemetry(n: int, at: float = 1_763_906_709.0) -> Event:
    return FACTORY.make(
        "storeedge.beacon.telemetry",
        {"beacon_id": f"b-{n % 7}", "battery_mv": 2900, "temperature_c": 21.5, "n": n},
        at + n / 1000,
    )


def alert(n: int, at: float = 1_763_906_709.0) -> Event:
    return FACTORY.make(
        "storeedge.alert.raised",
        {"alert_id": f"a-{n}", "kind": "advisor", "customer_id": None, "zone": "floor", "n": n},
        at + n / 1000,
    )


def fast(settings: Settings, keepalive: int = 5) -> Settings:
    return dataclasses.replace(
        settings, mqtt=dataclasses.replace(settings.mqtt, keepalive_s=keepalive)
    )


class EdgeSync:
    """Outbox + cache + link, as app.py wires them."""

    def __init__(self, settings: Settings, **link_options: Any) -> None:
        data: Path = settings.data.dir
        self.settings = settings
        self.outbox = Outbox(data / "outbox.sqlite", settings.source_uri)
        self.cache = LocalCache(data / "cache.sqlite")
        self.handler = RecordingHandler()
        options = {"backoff_min_s": 0.1, "backoff_max_s": 1.0, **link_options}
        self.link = MqttLink(
            settings,
            self.outbox,
            self.cache,
            self.handler,
            boot_id="boot-1",
            version="test",
            **options,
        )

    def start(self) -> EdgeSync:
        self.link.start()
        return self

    def stop(self) -> None:
        self.link.stop(5.0)
        self.outbox.close()
        self.cache.close()
