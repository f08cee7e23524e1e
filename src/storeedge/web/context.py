"""What the web layer's handlers share, stored once in ``app.extensions``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from flask import Flask, current_app

from storeedge.config import KioskSettings, Settings
from storeedge.core.pipeline import Pipeline
from storeedge.runtime import CoreLoop
from storeedge.web.assets import Catalog
from storeedge.web.auth import PinGuard
from storeedge.web.sink import SocketUi

EXTENSION: Final = "storeedge"
# NB: how long a web thread waits for the core loop before answering "busy".
CORE_TIMEOUT_S: Final = 3.0


@dataclass(frozen=True, slots=True)
class WebContext:
    settings: Settings
    bridge: CoreLoop
    # NB: touched only on the core thread, through ``bridge.call``.
    pipeline: Pipeline
    ui: SocketUi
    ui_dir: Path
    catalogs: dict[str, Catalog]
    guard: PinGuard

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
