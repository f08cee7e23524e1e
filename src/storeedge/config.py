"""Configuration: one TOML file (CONTRACTS section 6) into frozen, typed settings.

Every error names the file, the key and what was expected, for example
``store.toml: scanners[1].role: expected one of entrance, floor, kiosk, counter; got "door"``.
Unknown keys are errors: a typo must not pass silently.

Secrets never have to live in the TOML: the MQTT password and the staff PIN hash
come from the environment (``STOREEDGE_MQTT_PASSWORD``, ``STOREEDGE_STAFF_PIN_HASH``)
or from a file named in the TOML (``password_file``, ``staff_pin_hash_file``).
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

from storeedge.config_presence import SECTIONS, presence
from storeedge.config_staff import alerts, pickup_points, shift_h
from storeedge.core.settings import (
    QR_KINDS,
    ROLES,
    AlertSettings,
    DataSettings,
    KioskSettings,
    MqttSettings,
    QrScannerSettings,
    ScannerSettings,
    Settings,
    StoreSettings,
    WebSettings,
    radios,
)

EXIT_CONFIG: Final = 2

__all__ = [
    "AlertSettings",
    "ConfigError",
    "DataSettings",
    "KioskSettings",
    "MqttSettings",
    "QrScannerSettings",
    "ScannerSettings",
    "Settings",
    "StoreSettings",
    "WebSettings",
    "load_or_exit",
    "load_settings",
    "parse_settings",
    "radios",
]

_ID_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
_HOST_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")

T = TypeVar("T")


class ConfigError(Exception):
    """A configuration problem, already phrased for the technician who reads it."""


# --- the reader -----------------------------------------------------------------------------


class _Reader:
    """Walks the parsed TOML with a path, so every error says where it is."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, path: str, message: str) -> ConfigError:
        return ConfigError(f"{self.filename}: {path}: {message}")

    def table(self, raw: object, path: str, known: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(path, f"expected a table; got {_show(raw)}")
        for key in raw:
            if key not in known:
                raise self.fail(
                    _join(path, key),
                    f"unknown key (expected one of {', '.join(known)})",
                )
        return raw

    def required(self, table: Mapping[str, Any], path: str, key: str) -> object:
        if key not in table:
            raise self.fail(_join(path, key), "missing (required)")
        return table[key]

    def string(self, value: object, path: str, *, ident: bool = False) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"expected a non-empty string; got {_show(value)}")
        if ident and (len(value) > 64 or not set(value) <= _ID_CHARS):
            raise self.fail(
                path, f"expected letters, digits, '-' or '_' (at most 64); got {_show(value)}"
            )
        return value

    def integer(self, value: object, path: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"expected an integer; got {_show(value)}")
        if not low <= value <= high:
            raise self.fail(path, f"expected an integer from {low} to {high}; got {value}")
        return value

    def number(self, value: object, path: str, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"expected a number; got {_show(value)}")
        number = float(value)
        if not math.isfinite(number) or not low <= number <= high:
            raise self.fail(path, f"expected a number from {low:g} to {high:g}; got {value}")
        return number

    def boolean(self, value: object, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false; got {_show(value)}")
        return value

    def choice(self, value: object, path: str, choices: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in choices:
            raise self.fail(path, f"expected one of {', '.join(choices)}; got {_show(value)}")
        return value

    def point(self, value: object, path: str) -> tuple[float, float]:
        if not isinstance(value, list) or len(value) != 2:
            raise self.fail(path, f"expected [x, y] in metres; got {_show(value)}")
        return (
            self.number(value[0], f"{path}[0]", -10_000, 10_000),
            self.number(value[1], f"{path}[1]", -10_000, 10_000),
        )

    def optional(
        self, table: Mapping[str, Any], path: str, key: str, read: Callable[[object, str], T]
    ) -> T | None:
        if key not in table:
            return None
        return read(table[key], _join(path, key))

    def array_of_tables(self, raw: object, path: str) -> list[object]:
        if not isinstance(raw, list):
            raise self.fail(path, f"expected an array of tables ([[{path}]]); got {_show(raw)}")
        return raw


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


def _secret(env_name: str, file_value: Path | None, reader: _Reader, path: str) -> str | None:
    from_env = os.environ.get(env_name)
    if from_env:
        return from_env
    if file_value is None:
        return None
    try:
        return file_value.read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        raise reader.fail(path, f"cannot read {file_value}: {exc.strerror}") from None


def _store(r: _Reader, raw: object) -> StoreSettings:
    t = r.table(raw, "store", ("id", "edge_id", "door", "name", "timezone"))
    return StoreSettings(
        id=r.string(r.required(t, "store", "id"), "store.id", ident=True),
        edge_id=r.string(r.required(t, "store", "edge_id"), "store.edge_id", ident=True),
        door=r.optional(t, "store", "door", r.point),
        name=r.optional(t, "store", "name", r.string) or "",
        timezone=r.optional(t, "store", "timezone", r.string) or "Europe/Paris",
    )


def _path(r: _Reader, base: Path) -> Callable[[object, str], Path]:
    def read(value: object, path: str) -> Path:
        text = r.string(value, path)
        candidate = Path(text)
        return candidate if candidate.is_absolute() else (base / candidate)

    return read


def _mqtt(r: _Reader, raw: object, base: Path) -> MqttSettings:
    keys = (
        "host",
        "port",
        "tls",
        "username",
        "password_file",
        "ca_file",
        "cert_file",
        "key_file",
        "keepalive_s",
        "protocol",
    )
    if isinstance(raw, dict) and "password" in raw:
        raise r.fail(
            "mqtt.password",
            "the password never goes in this file (use STOREEDGE_MQTT_PASSWORD or password_file)",
        )
    t = r.table(raw, "mqtt", keys)
    tls = r.optional(t, "mqtt", "tls", r.boolean)
    tls = True if tls is None else tls
    port = r.optional(t, "mqtt", "port", lambda v, p: r.integer(v, p, 1, 65535))
    password_file = r.optional(t, "mqtt", "password_file", _path(r, base))
    return MqttSettings(
        host=r.optional(t, "mqtt", "host", r.string) or "127.0.0.1",
        port=port if port is not None else (8883 if tls else 1883),
        tls=tls,
        username=r.optional(t, "mqtt", "username", r.string),
        password=_secret("STOREEDGE_MQTT_PASSWORD", password_file, r, "mqtt.password_file"),
        ca_file=r.optional(t, "mqtt", "ca_file", _path(r, base)),
        cert_file=r.optional(t, "mqtt", "cert_file", _path(r, base)),
        key_file=r.optional(t, "mqtt", "key_file", _path(r, base)),
        keepalive_s=r.optional(t, "mqtt", "keepalive_s", lambda v, p: r.integer(v, p, 5, 3600))
        or 30,
        protocol=r.optional(
            t, "mqtt", "protocol", lambda v, p: r.choice(v, p, ("auto", "5", "3.1.1"))
        )
        or "auto",
    )


def _data(r: _Reader, raw: object, base: Path) -> DataSettings:
    t = r.table(raw, "data", ("dir",))
    directory = _path(r, base)(r.required(t, "data", "dir"), "data.dir")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise r.fail("data.dir", f"cannot create {directory}: {exc.strerror}") from None
    return DataSettings(dir=directory)


def _scanners(r: _Reader, raw: object) -> tuple[ScannerSettings, ...]:
    out: list[ScannerSettings] = []
    seen: set[str] = set()
    keys = ("id", "zone", "role", "rssi_offset_db", "position", "adapter")
    for index, item in enumerate(r.array_of_tables(raw, "scanners")):
        path = f"scanners[{index}]"
        t = r.table(item, path, keys)
        scanner_id = r.string(r.required(t, path, "id"), f"{path}.id", ident=True)
        if scanner_id in seen:
            raise r.fail(f"{path}.id", f'duplicate scanner id "{scanner_id}"')
        seen.add(scanner_id)
        offset = r.optional(t, path, "rssi_offset_db", lambda v, p: r.number(v, p, -50, 50))
        out.append(
            ScannerSettings(
                id=scanner_id,
                zone=r.string(r.required(t, path, "zone"), f"{path}.zone", ident=True),
                role=r.choice(r.required(t, path, "role"), f"{path}.role", ROLES),
                rssi_offset_db=offset or 0.0,
                position=r.optional(t, path, "position", r.point),
                adapter=r.optional(t, path, "adapter", r.string),
            )
        )
    return tuple(out)


def _qr_scanners(r: _Reader, raw: object) -> tuple[QrScannerSettings, ...]:
    out: list[QrScannerSettings] = []
    for index, item in enumerate(r.array_of_tables(raw, "qr_scanners")):
        path = f"qr_scanners[{index}]"
        t = r.table(item, path, ("id", "kind", "zone", "device", "kiosk"))
        out.append(
            QrScannerSettings(
                id=r.string(r.required(t, path, "id"), f"{path}.id", ident=True),
                kind=r.choice(r.required(t, path, "kind"), f"{path}.kind", QR_KINDS),
                zone=r.string(r.required(t, path, "zone"), f"{path}.zone", ident=True),
                device=r.optional(t, path, "device", r.string),
                kiosk=r.optional(t, path, "kiosk", lambda v, p: r.string(v, p, ident=True)),
            )
        )
    return tuple(out)


def _kiosks(r: _Reader, raw: object) -> tuple[KioskSettings, ...]:
    out: list[KioskSettings] = []
    for index, item in enumerate(r.array_of_tables(raw, "kiosks")):
        path = f"kiosks[{index}]"
        t = r.table(item, path, ("id", "zone", "app_host", "idle_s", "language"))
        out.append(
            KioskSettings(
                id=r.string(r.required(t, path, "id"), f"{path}.id", ident=True),
                zone=r.string(r.required(t, path, "zone"), f"{path}.zone", ident=True),
                app_host=r.optional(t, path, "app_host", r.string) or "APP.STOREEDGE.EXAMPLE",
                idle_s=r.optional(t, path, "idle_s", lambda v, p: r.number(v, p, 5, 3600)) or 60.0,
                language=r.optional(t, path, "language", lambda v, p: r.choice(v, p, ("fr", "en")))
                or "fr",
            )
        )
    return tuple(out)


def _web(r: _Reader, raw: object, base: Path) -> WebSettings:
    keys = ("host", "port", "staff_pin_hash_file", "allowed_hosts", "tls_cert_file")
    t = r.table(raw, "web", (*keys, "tls_key_file", "trusted_proxy", "staff_shift_h"))
    path = _path(r, base)
    port = r.optional(t, "web", "port", lambda v, p: r.integer(v, p, 0, 65535))
    cert, key = (r.optional(t, "web", k, path) for k in ("tls_cert_file", "tls_key_file"))
    if (cert is None) != (key is None):
        raise r.fail("web.tls_key_file", "tls_cert_file and tls_key_file go together")
    pin_file = r.optional(t, "web", "staff_pin_hash_file", path)
    web = WebSettings(
        host=r.optional(t, "web", "host", r.string) or "127.0.0.1",
        port=8080 if port is None else port,
        staff_pin_hash=_secret("STOREEDGE_STAFF_PIN_HASH", pin_file, r, "web.staff_pin_hash_file"),
        allowed_hosts=r.optional(t, "web", "allowed_hosts", lambda v, p: _hosts(r, v, p)) or (),
        tls_cert_file=cert,
        tls_key_file=key,
        trusted_proxy=r.optional(t, "web", "trusted_proxy", r.string),
        staff_shift_h=shift_h(r, t),
    )
    loopback = web.host in ("::1", "localhost") or web.host.startswith("127.")  # not a wildcard
    if web.staff_pin_hash is None and not loopback:
        raise r.fail(
            "web.host",
            f'"{web.host}" serves the staff console to the network with no PIN: set '
            "web.staff_pin_hash_file (or STOREEDGE_STAFF_PIN_HASH), or bind 127.0.0.1",
        )
    return web


def _hosts(r: _Reader, value: object, path: str) -> tuple[str, ...]:
    names = value if isinstance(value, list) else [None]
    if not all(isinstance(n, str) and n and set(n.lower()) <= _HOST_CHARS for n in names):
        raise r.fail(path, f"expected an array of host names without port; got {_show(value)}")
    return tuple(str(n).lower() for n in names)


def parse_settings(document: Mapping[str, Any], source: Path) -> Settings:
    """Validate a parsed TOML document. Relative paths are relative to ``source``'s folder."""
    r = _Reader(source.name)
    top = r.table(
        dict(document),
        "",
        ("store", "mqtt", "data", "scanners", "qr_scanners", "kiosks", "web", *SECTIONS),
    )
    base = source.parent
    scanners = _scanners(r, top.get("scanners", []))
    qr = _qr_scanners(r, top.get("qr_scanners", []))
    kiosks = _kiosks(r, top.get("kiosks", []))
    kiosk_ids = {k.id for k in kiosks}
    for index, q in enumerate(qr):
        if q.kiosk is not None and q.kiosk not in kiosk_ids:
            raise r.fail(f"qr_scanners[{index}].kiosk", f'no kiosk with id "{q.kiosk}"')
    return Settings(
        source=source,
        store=_store(r, r.required(top, "", "store")),
        mqtt=_mqtt(r, top.get("mqtt", {}), base),
        data=_data(r, r.required(top, "", "data"), base),
        scanners=scanners,
        qr_scanners=qr,
        kiosks=kiosks,
        web=_web(r, top.get("web", {}), base),
        alerts=alerts(r, top.get("alerts", {})),
        pickup_points=pickup_points(r, top.get("pickup_points", [])),
        presence=presence(r, top.get("presence", {}), _path(r, base)),
    )


def load_settings(path: Path) -> Settings:
    """Read and validate a config file; raises :class:`ConfigError` with a one-line reason."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None
    return parse_settings(document, path)


def load_or_exit(path: Path) -> Settings:
    """Load the config, or print the one-line reason and exit 2 (no traceback): for commands."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        print(f"storeedge: {exc}", file=sys.stderr)  # noqa: T201  # the CLI's own output
        raise SystemExit(EXIT_CONFIG) from None
