"""What the web layer's handlers share, stored once in ``app.extensions``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from flask import Flask, current_app

from storeedge.core.settings import KioskSettings, Settings
from storeedge.gateway import CoreGateway
from storeedge.web.assets import Catalog
from storeedge.web.auth import PinGuard
from storeedge.web.sink import SocketUi

EXTENSION: Final = "storeedge"


class HealthSections:
    """Sections the composition root adds to ``/healthz``: devices, MQTT, outbox.

    Each provider returns a JSON-able dict with a boolean ``healthy``. Providers are
    read from request threads, so they must only read thread-safe state.
    """

    def __init__(self) -> None:
        self._providers: dict[str, Callable[[], dict[str, Any]]] = {}

    def add(self, name: str, provider: Callable[[], dict[str, Any]]) -> None:
        self._providers[name] = provider

    def collect(self) -> tuple[dict[str, Any], bool]:
        sections: dict[str, Any] = {}
        healthy = True
        for name, provider in self._providers.items():
            try:
                section = json.loads(json.dumps(provider(), default=str))
            except Exception as exc:  # noqa: BLE001  # a broken probe is itself unhealthy
                section = {"healthy": False, "error": str(exc)}
            healthy = healthy and bool(section.get("healthy", False))
            sections[name] = section
        return sections, healthy


@dataclass(frozen=True, slots=True)
class WebContext:
    settings: Settings
    # NB: the only way into the core; every method runs on the core thread.
    core: CoreGateway
    ui: SocketUi
    ui_dir: Path
    catalogs: dict[str, Catalog]
    guard: PinGuard
    health: HealthSections

    def kiosk(self, kiosk_id: str) -> KioskSettings | None:
        for kiosk in self.settings.kiosks:
            if kiosk.id == kiosk_id:
                return kiosk
        return None

    @property
    def store_name(self) -> str:
        return self.settings.store.name


def context_of(app: Flask | None = None) -> WebContext:
    extensions = (app or current_app).extensions
    context = extensions[EXTENSION]
    assert isinstance(context, WebContext)
    return context
