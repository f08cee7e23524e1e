"""The settings the core runs on: plain frozen values (CONTRACTS section 6).

The loader (``storeedge.config``: TOML, environment, secret files, directories)
fills them; nothing here reads a file or the environment, so the core, replay and
the tests can build settings from anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from storeedge.core.calibration import Calibration

ROLES: Final = ("entrance", "floor", "kiosk", "counter")
QR_KINDS: Final = ("evdev", "serial", "simulated")
ESCALATE_AFTER_S: Final = 120.0


@dataclass(frozen=True)
class StoreSettings:
    id: str
    edge_id: str
    door: tuple[float, float] | None = None
    name: str = ""
    timezone: str = "Europe/Paris"


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 8883
    tls: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = 30
    protocol: str = "auto"  # auto | 5 | 3.1.1


@dataclass(frozen=True)
class DataSettings:
    dir: Path


DEFAULT_ADAPTER: Final = "hci0"


@dataclass(frozen=True)
class ScannerSettings:
    id: str
    zone: str
    role: str
    rssi_offset_db: float = 0.0
    position: tuple[float, float] | None = None
    adapter: str | None = None  # BlueZ adapter name, e.g. "hci0"

    @property
    def radio(self) -> str:
        """The BlueZ adapter this receiver listens on."""
        return self.adapter or DEFAULT_ADAPTER


def radios(
    scanners: Iterable[ScannerSettings],
) -> tuple[dict[str, ScannerSettings], list[tuple[ScannerSettings, ScannerSettings]]]:
    """The scanner each radio serves (the first listed), and each (ignored, served) pair of
    scanners that name the same radio: a configuration mistake."""
    served: dict[str, ScannerSettings] = {}
    shared: list[tuple[ScannerSettings, ScannerSettings]] = []
    for scanner in scanners:
        first = served.setdefault(scanner.radio, scanner)
        if first is not scanner:
            shared.append((scanner, first))
    return served, shared


@dataclass(frozen=True)
class QrScannerSettings:
    id: str
    kind: str
    zone: str
    device: str | None = None
    kiosk: str | None = None  # the kiosk this scanner belongs to, if any


SHIFT_H: Final = 12.0


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    staff_pin_hash: str | None = field(default=None, repr=False)
    # Host names the screens answer to besides IP literals and localhost (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # The one address whose X-Forwarded-For/-Proto/-Host are believed (a reverse proxy).
    trusted_proxy: str | None = None
    staff_shift_h: float = SHIFT_H  # a clerk's sign-in lasts this long


@dataclass(frozen=True)
class PickupPointSettings:
    """Where click-and-collect orders wait, with the name staff know it by."""

    id: str  # as orders name it (``pickup.point`` in a profile)
    name: str


@dataclass(frozen=True)
class AlertSettings:
    escalate_after_s: float = ESCALATE_AFTER_S  # an unclaimed alert this old is escalated


@dataclass(frozen=True)
class KioskSettings:
    id: str
    zone: str
    app_host: str = "APP.STOREEDGE.EXAMPLE"
    idle_s: float = 60.0
    language: str = "fr"


@dataclass(frozen=True)
class PresenceSettings:
    """``[presence]``: the store's calibration (``storeedge calibrate``) and its beacons."""

    calibration_file: Path | None = None
    calibration: Calibration | None = field(default=None, repr=False)  # read from the file
    beacons: tuple[str, ...] = ()  # the store's own beacons (Eddystone UID, 32 hex digits)


@dataclass(frozen=True)
class Settings:
    """The whole configuration. ``source`` is the file it came from."""

    source: Path
    store: StoreSettings
    mqtt: MqttSettings
    data: DataSettings
    scanners: tuple[ScannerSettings, ...]
    qr_scanners: tuple[QrScannerSettings, ...] = ()
    kiosks: tuple[KioskSettings, ...] = ()
    web: WebSettings = field(default_factory=WebSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    pickup_points: tuple[PickupPointSettings, ...] = ()
    presence: PresenceSettings = field(default_factory=PresenceSettings)

    @property
    def source_uri(self) -> str:
        """The CloudEvents ``source`` of every event this edge decides."""
        return f"/stores/{self.store.id}/edges/{self.store.edge_id}"

    def scanner(self, scanner_id: str) -> ScannerSettings | None:
        for scanner in self.scanners:
            if scanner.id == scanner_id:
                return scanner
        return None
