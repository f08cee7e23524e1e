"""The bleak adapter: BlueZ scanners as ``AdvertSource``s (storeedge.core.ports).

One :class:`BleSource` per configured adapter (``[[scanners]] adapter``, default
``hci0``). Each scans *continuously*:

- passive scanning through BlueZ advertisement monitors (``or_patterns``) where
  BlueZ offers them (5.56+; on 5.6x they still need ``Experimental = true`` in
  ``/etc/bluetooth/main.conf``, see devices/bluez-main.conf.md), active scanning
  otherwise. NB: it never cycles start/stop to "refresh" results; BlueZ reports
  each advertisement while a scan runs (``DuplicateData`` stays on).
- a watchdog: when an adapter has been silent for ``silent_s``, restart the
  scanner; if it stays silent, power-cycle the adapter; retries back off up to
  ``max_backoff_s``. ``healthy`` / ``detail`` say how it is going.

bleak's types stop here: :func:`to_record` turns ``(BLEDevice, AdvertisementData)``
into the core's :class:`AdvertRecord`, checking every field.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from storeedge.config import ScannerSettings, Settings, radios
from storeedge.core.ports import AdvertRecord, AdvertSource
from storeedge.ops.radios import resolve_adapter

_LOGGER = logging.getLogger(__name__)

SILENT_S = 60.0  # NB: store beacons advertise every second or so; a minute of nothing is a fault
MAX_BACKOFF_S = 60.0
WATCH_EVERY_S = 1.0

# AD types for the passive monitor patterns (Bluetooth Assigned Numbers, section 2.3).
_AD_FLAGS = 0x01
_AD_UUID16_COMPLETE = 0x03
_AD_SERVICE_DATA16 = 0x16
_AD_MANUFACTURER = 0xFF

# What the monitor lets through: Eddystone (UUID 0xFEAA, little-endian on air), Apple
# manufacturer data (iBeacon, Nearby...), and any advertisement with the usual LE flags
# (for the anonymous footfall count).
OR_PATTERNS: tuple[tuple[int, int, bytes], ...] = (
    (0, _AD_SERVICE_DATA16, b"\xaa\xfe"),
    (0, _AD_UUID16_COMPLETE, b"\xaa\xfe"),
    (0, _AD_MANUFACTURER, b"\x4c\x00"),
    (0, _AD_FLAGS, b"\x06"),
    (0, _AD_FLAGS, b"\x1a"),
    (0, _AD_FLAGS, b"\x02"),
)

Detection = Callable[[Any, Any], None]  # bleak's (BLEDevice, AdvertisementData) callback


class Scanner(Protocol):
    """What the source needs of a bleak scanner (a fake in unit tests)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


ScannerFactory = Callable[[str, str, Detection], Scanner]
AdapterReset = Callable[[str], Awaitable[None]]


def bleak_scanner(adapter: str, mode: str, callback: Detection) -> Scanner:
    """A real bleak scanner on ``adapter`` in ``mode`` ("passive" or "active")."""
    from bleak import BleakScanner
    from bleak.args.bluez import BlueZScannerArgs, OrPattern
    from bleak.assigned_numbers import AdvertisementDataType

    args: BlueZScannerArgs = {"adapter": resolve_adapter(adapter)}
    if mode == "passive":
        args["or_patterns"] = [
            OrPattern(start, AdvertisementDataType(kind), content)
            for start, kind, content in OR_PATTERNS
        ]
    else:
        args["filters"] = {"DuplicateData": True, "Transport": "le"}
    scanner: Scanner = BleakScanner(callback, scanning_mode=mode, bluez=args)  # type: ignore[arg-type]  # NB: mode is checked to be "passive" or "active" above
    return scanner


async def power_cycle(adapter: str) -> None:
    """Turns the BlueZ adapter off and on again through D-Bus (Adapter1.Powered)."""
    from dbus_fast import BusType, Variant
    from dbus_fast.aio import MessageBus

    adapter = resolve_adapter(adapter)  # NB: a stable name (usb-1-1.2) to this boot's hciN
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    try:
        introspection = await bus.introspect("org.bluez", f"/org/bluez/{adapter}")
        proxy = bus.get_proxy_object("org.bluez", f"/org/bluez/{adapter}", introspection)
        props = proxy.get_interface("org.freedesktop.DBus.Properties")
        await props.call_set("org.bluez.Adapter1", "Powered", Variant("b", False))  # type: ignore[attr-defined]  # NB: dbus-fast builds call_* methods at runtime
        await asyncio.sleep(1.0)
        await props.call_set("org.bluez.Adapter1", "Powered", Variant("b", True))  # type: ignore[attr-defined]  # NB: as above
    finally:
        bus.disconnect()


# --- the boundary: bleak -> AdvertRecord ---------------------------------------------------


def _bytes_map(raw: object, key_ok: Callable[[object], bool]) -> dict[Any, bytes]:
    out: dict[Any, bytes] = {}
    if not isinstance(raw, Mapping):
        return out
    for key, value in list(raw.items())[:32]:
        if key_ok(key) and isinstance(value, bytes | bytearray) and len(value) <= 255:
            out[key.lower() if isinstance(key, str) else key] = bytes(value)
    return out


def _company(key: object) -> bool:
    return isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 0xFFFF


def _uuid(key: object) -> bool:
    return isinstance(key, str) and len(key) == 36


def to_record(t: float, scanner_id: str, device: Any, adv: Any) -> AdvertRecord | None:
    """bleak's detection -> a record; None when bleak handed over something unusable."""
    address = getattr(device, "address", None)
    rssi = getattr(adv, "rssi", None)
    if not isinstance(address, str) or not 0 < len(address) <= 64:
        return None
    if not isinstance(rssi, int) or isinstance(rssi, bool) or not -127 <= rssi <= 20:
        return None
    tx_power = getattr(adv, "tx_power", None)
    if not (isinstance(tx_power, int) and -127 <= tx_power <= 127):
        tx_power = None
    name = getattr(adv, "local_name", None)
    uuids = getattr(adv, "service_uuids", None) or []
    return AdvertRecord(
        t=t,
        scanner=scanner_id,
        address=address,
        rssi=rssi,
        tx_power=tx_power,
        local_name=name[:248] if isinstance(name, str) and name else None,
        manufacturer_data=_bytes_map(getattr(adv, "manufacturer_data", None), _company),
        service_data=_bytes_map(getattr(adv, "service_data", None), _uuid),
        service_uuids=tuple(u.lower() for u in list(uuids)[:32] if isinstance(u, str)),
    )


# --- the source -------------------------------------------------------------------------------


class BleSource:
    """One BlueZ adapter feeding one configured scanner, with its watchdog."""

    def __init__(
        self,
        scanner: ScannerSettings,
        *,
        factory: ScannerFactory = bleak_scanner,
        reset: AdapterReset = power_cycle,
        now: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        silent_s: float = SILENT_S,
        max_backoff_s: float = MAX_BACKOFF_S,
    ) -> None:
        self.scanner_ids: tuple[str, ...] = (scanner.id,)
        self.adapter = scanner.radio
        self._scanner_id = scanner.id
        self._factory = factory
        self._reset = reset
        self._now = now
        self._monotonic = monotonic
        self._silent_s = silent_s
        self._max_backoff_s = max_backoff_s
        self._last_heard = monotonic()
        self._running: Scanner | None = None
        self.mode = "none"
        self.restarts = 0
        self.resets = 0
        self.received = 0
        self.dropped = 0
        self._state = "starting"

    @property
    def healthy(self) -> bool:
        return self._running is not None and not self._silent()

    @property
    def detail(self) -> str:
        return (
            f"{self.adapter} ({self._scanner_id}): {self._state}, {self.mode} scan, "
            f"{self.received} adverts, {self.restarts} restarts, {self.resets} adapter resets"
        )

    def _silent(self) -> bool:
        return self._monotonic() - self._last_heard > self._silent_s

    async def run(self, deliver: Callable[[AdvertRecord], None]) -> None:
        def on_detection(device: Any, adv: Any) -> None:
            record = to_record(self._now(), self._scanner_id, device, adv)
            if record is None:
                self.dropped += 1
                return
            self.received += 1
            self._last_heard = self._monotonic()
            deliver(record)

        try:
            await self._supervise(on_detection)
        finally:
            await self._stop()

    async def _supervise(self, callback: Detection) -> None:
        first_backoff = min(1.0, self._max_backoff_s)
        backoff = first_backoff
        failures = 0
        silent_rounds = 0
        received_at_restart = -1
        while True:
            if self._running is None and not await self._start(callback):
                failures += 1
                self._state = f"cannot start (retry in {backoff:.0f} s)"
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                if failures % 3 == 0:
                    await self._reset_adapter()
                continue
            await asyncio.sleep(WATCH_EVERY_S)
            if not self._silent():
                if self.received != received_at_restart:  # NB: heard something since
                    backoff, failures, silent_rounds = first_backoff, 0, 0
                    self._state = "scanning"
                continue
            silent_rounds += 1
            received_at_restart = self.received
            await self._recover(callback, backoff, reset=silent_rounds > 1)
            backoff = min(backoff * 2, self._max_backoff_s)

    async def _recover(self, callback: Detection, backoff: float, *, reset: bool) -> None:
        """Silent: restart the scanner; when a restart did not help, reset the adapter too."""
        _LOGGER.warning(
            "%s silent for %.0f s: restarting the scanner", self.adapter, self._silent_s
        )
        self._state = "silent"
        await self._stop()
        if reset:
            await self._reset_adapter()
        self.restarts += 1
        await asyncio.sleep(backoff)
        self._last_heard = self._monotonic()  # NB: give the new scan a full silent_s
        if await self._start(callback):
            self._state = "restarted"

    async def _start(self, callback: Detection) -> bool:
        for mode in ("passive", "active"):
            try:
                scanner = self._factory(self.adapter, mode, callback)
                await scanner.start()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  # NB: any BlueZ/D-Bus failure means "try the next way"
                _LOGGER.info("%s: %s scanning unavailable: %s", self.adapter, mode, exc)
                continue
            self._running, self.mode = scanner, mode
            self._last_heard = self._monotonic()
            _LOGGER.info("%s: %s scanning for scanner %s", self.adapter, mode, self._scanner_id)
            return True
        return False

    async def _stop(self) -> None:
        scanner, self._running = self._running, None
        if scanner is not None:
            with contextlib.suppress(Exception):
                await scanner.stop()

    async def _reset_adapter(self) -> None:
        self.resets += 1
        _LOGGER.warning("%s: power-cycling the adapter", self.adapter)
        try:
            await self._reset(self.adapter)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  # NB: a failed reset is retried on the next round
            _LOGGER.warning("%s: adapter reset failed: %s", self.adapter, exc)


def sources_for(settings: Settings) -> list[AdvertSource]:
    """One source per distinct adapter; scanners sharing an adapter are a config mistake."""
    served, shared = radios(settings.scanners)
    for ignored, first in shared:
        _LOGGER.warning(
            "scanner %s: adapter %s already serves scanner %s; ignored",
            ignored.id,
            ignored.radio,
            first.id,
        )
    return [BleSource(scanner) for scanner in served.values()]
