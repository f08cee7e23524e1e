"""The bleak adapter: the boundary conversion, the watchdog, and real bleak on a BlueZ stand-in.

The last test runs bleak's real BlueZ backend against python-dbusmock's ``bluez5``
template on a private D-Bus (Debian's python3-dbusmock under /usr/bin/python3).
The stand-in has no advertisement monitors, so it also shows the fallback from
passive to active scanning.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from storeedge.adapters.ble import BleSource, sources_for, to_record
from storeedge.config import ScannerSettings, Settings
from storeedge.core.adverts import EDDYSTONE_UUID
from storeedge.core.ports import AdvertRecord

SCANNER = ScannerSettings(id="entrance", zone="entrance", role="entrance", adapter="hci1")
FRAME = b"\x30\xeb" + bytes(range(8))


def _adv(**changes: Any) -> AdvertisementData:
    fields: dict[str, Any] = {
        "local_name": "phone",
        "manufacturer_data": {76: b"\x10\x05\x01"},
        "service_data": {EDDYSTONE_UUID.upper(): FRAME},
        "service_uuids": [EDDYSTONE_UUID],
        "tx_power": -4,
        "rssi": -61,
        "platform_data": (),
    }
    fields.update(changes)
    return AdvertisementData(**fields)


def test_bleak_detection_becomes_a_record() -> None:
    device = BLEDevice("4A:00:00:00:00:01", "phone", None)
    record = to_record(12.5, "entrance", device, _adv())
    assert record == AdvertRecord(
        12.5,
        "entrance",
        "4A:00:00:00:00:01",
        -61,
        -4,
        "phone",
        {76: b"\x10\x05\x01"},
        {EDDYSTONE_UUID: FRAME},
        (EDDYSTONE_UUID,),
    )


def test_unusable_detections_are_dropped_or_trimmed() -> None:
    device = BLEDevice("4A:00:00:00:00:01", None, None)
    assert to_record(1.0, "s", device, _adv(rssi=None)) is None
    assert to_record(1.0, "s", BLEDevice("", None, None), _adv()) is None
    odd = _adv(
        manufacturer_data={"x": b"1", 70000: b"2", 6: "no"},
        service_data={"short": b""},
        tx_power=999,
    )
    record = to_record(1.0, "s", device, odd)
    assert record is not None
    assert record.manufacturer_data == {}
    assert record.service_data == {}
    assert record.tx_power is None


class FakeScanner:
    def __init__(self, fails: bool) -> None:
        self.fails = fails
        self.started = False
        self.stopped = False

    async def start(self) -> None:
        if self.fails:
            raise RuntimeError("org.bluez.Error.NotSupported")
        self.started = True

    async def stop(self) -> None:
        self.stopped = True


class Rig:
    def __init__(self, passive_works: bool) -> None:
        self.passive_works = passive_works
        self.made: list[tuple[str, FakeScanner]] = []
        self.resets: list[str] = []
        self.callback: Any = None
        self.clock = 0.0

    def factory(self, adapter: str, mode: str, callback: Any) -> FakeScanner:
        scanner = FakeScanner(fails=mode == "passive" and not self.passive_works)
        self.made.append((mode, scanner))
        self.callback = callback
        return scanner

    async def reset(self, adapter: str) -> None:
        self.resets.append(adapter)


def _source(rig: Rig) -> BleSource:
    return BleSource(
        SCANNER,
        factory=rig.factory,
        reset=rig.reset,
        monotonic=lambda: rig.clock,
        now=lambda: 1000.0 + rig.clock,
        silent_s=5.0,
        max_backoff_s=0.01,
    )


async def _run_for(
    source: BleSource, records: list[AdvertRecord], steps: int, rig: Rig, hear: bool
) -> None:
    task = asyncio.create_task(source.run(records.append))
    try:
        for _ in range(steps):
            await asyncio.sleep(0)
            if hear and rig.callback is not None:
                rig.callback(BLEDevice("4A:00:00:00:00:01", None, None), _adv())
            rig.clock += 1.0
            await asyncio.sleep(0.002)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_passive_first_then_active_and_records_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("storeedge.adapters.ble.WATCH_EVERY_S", 0.001)
    for passive_works, mode in ((True, "passive"), (False, "active")):
        rig = Rig(passive_works)
        source = _source(rig)
        records: list[AdvertRecord] = []
        asyncio.run(_run_for(source, records, 5, rig, hear=True))
        assert source.mode == mode
        assert records
        assert records[0].scanner == "entrance"
        assert source.restarts == 0
        assert "adverts" in source.detail


def test_watchdog_restarts_the_scanner_then_resets_the_adapter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("storeedge.adapters.ble.WATCH_EVERY_S", 0.001)
    rig = Rig(passive_works=True)
    source = _source(rig)
    records: list[AdvertRecord] = []
    asyncio.run(_run_for(source, records, 60, rig, hear=False))
    assert source.restarts >= 2
    assert rig.resets
    assert rig.resets[0] == "hci1"
    assert sum(1 for _, s in rig.made if s.stopped) >= 2  # restarts stop the old scanner
    assert not source.healthy


def test_one_source_per_adapter(make_settings: Any) -> None:
    settings: Settings = make_settings()
    sources = sources_for(settings)  # three scanners, none names an adapter: all hci0
    assert len(sources) == 1
    extra = '\n[[scanners]]\nid = "back"\nzone = "floor"\nrole = "floor"\nadapter = "hci1"\n'
    assert len(sources_for(make_settings(extra=extra))) == 2


# --- real bleak against a BlueZ stand-in ------------------------------------------------


def _have_dbusmock() -> bool:
    if shutil.which("dbus-daemon") is None or not Path("/usr/bin/python3").exists():
        return False
    probe = subprocess.run(
        ["/usr/bin/python3", "-c", "import dbusmock"], capture_output=True, check=False
    )
    return probe.returncode == 0


@pytest.fixture
def bluez_stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if not _have_dbusmock():
        pytest.fail("python3-dbusmock and dbus-daemon are needed: apt-get install python3-dbusmock")
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE,
    )
    assert daemon.stdout is not None
    address = daemon.stdout.readline().decode().strip()
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address}
    mock = subprocess.Popen(
        ["/usr/bin/python3", "-m", "dbusmock", "--system", "--template", "bluez5"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
    try:
        yield address
    finally:
        mock.terminate()
        mock.wait(10)
        daemon.terminate()
        daemon.wait(10)
        daemon.stdout.close()


async def _call(
    bus: Any, path: str, interface: str, member: str, signature: str, body: list[Any]
) -> Any:
    from dbus_fast import Message, MessageType

    reply = await bus.call(
        Message(
            destination="org.bluez",
            path=path,
            interface=interface,
            member=member,
            signature=signature,
            body=body,
        )
    )
    assert reply.message_type == MessageType.METHOD_RETURN, reply.body
    return reply.body


async def _wait_for_bluez(bus: Any) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        reply = await _call_dbus(bus, "NameHasOwner", "s", ["org.bluez"])
        if reply[0]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the BlueZ stand-in did not start")


async def _call_dbus(bus: Any, member: str, signature: str, body: list[Any]) -> Any:
    from dbus_fast import Message

    reply = await bus.call(
        Message(
            destination="org.freedesktop.DBus",
            path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus",
            member=member,
            signature=signature,
            body=body,
        )
    )
    return reply.body


async def _real_bleak_session() -> tuple[BleSource, list[AdvertRecord]]:
    from dbus_fast import BusType, Variant
    from dbus_fast.aio import MessageBus

    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    await _wait_for_bluez(bus)
    await _call(bus, "/", "org.bluez.Mock", "AddAdapter", "ss", ["hci0", "edge"])
    source = BleSource(
        ScannerSettings(id="entrance", zone="entrance", role="entrance", adapter="hci0")
    )
    records: list[AdvertRecord] = []
    task = asyncio.create_task(source.run(records.append))
    try:
        for _ in range(100):
            if source.mode != "none":
                break
            await asyncio.sleep(0.05)
        path = (
            await _call(
                bus,
                "/",
                "org.bluez.Mock",
                "AddDevice",
                "sss",
                ["hci0", "4A:00:00:00:00:07", "phone"],
            )
        )[0]
        props = {
            "RSSI": Variant("n", -55),
            "ServiceData": Variant("a{sv}", {EDDYSTONE_UUID: Variant("ay", FRAME)}),
            "ManufacturerData": Variant("a{qv}", {76: Variant("ay", b"\x10\x05\x01")}),
        }
        # NB: dbusmock 0.28's UpdateProperties cannot wrap dictionaries, so the
        # PropertiesChanged signal BlueZ would send is emitted directly.
        changed = [
            Variant("s", "org.bluez.Device1"),
            Variant("a{sv}", props),
            Variant("as", []),
        ]
        await _call(
            bus,
            path,
            "org.freedesktop.DBus.Mock",
            "EmitSignal",
            "sssav",
            ["org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as", changed],
        )
        for _ in range(100):
            if any(r.rssi == -55 for r in records):
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        bus.disconnect()
    return source, records


def test_real_bleak_on_a_bluez_stand_in(bluez_stand_in: str) -> None:
    source, records = asyncio.run(_real_bleak_session())
    assert source.mode == "active"  # the stand-in has no advertisement monitor manager
    heard = [r for r in records if r.rssi == -55]
    assert heard, records
    record = heard[-1]
    assert record.scanner == "entrance"
    assert record.address == "4A:00:00:00:00:07"
    assert record.service_data == {EDDYSTONE_UUID: FRAME}
    assert record.manufacturer_data == {76: b"\x10\x05\x01"}
