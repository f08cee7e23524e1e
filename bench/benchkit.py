"""Shared pieces of the sync benchmarks: events, a raw-paho baseline, disk-write counters."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from storeedge.adapters.cache import LocalCache
from storeedge.adapters.mqtt import MqttLink
from storeedge.adapters.outbox import Outbox
from storeedge.config import DataSettings, MqttSettings, Settings, StoreSettings
from storeedge.core.events import Event, EventFactory
from storeedge.core.profiles import CustomerProfile

SOURCE = "/stores/store-042/edges/edge-1"
WINDOW = int(__import__("os").environ.get("BENCH_WINDOW", "64"))
_FACTORY = EventFactory()


def events(count: int) -> list[Event]:
    """A realistic mix: presence, analytics, transactions, alerts (~300-400 bytes sealed)."""
    out = []
    now = time.time()
    for n in range(count):
        kind = n % 10
        if kind < 5:
            out.append(
                _FACTORY.make(
                    "storeedge.customer.zone_changed",
                    {
                        "customer_id": f"C-{n % 5000:06d}",
                        "visit_id": _FACTORY.new_id(now),
                        "zone": "floor",
                        "previous_zone": "entrance",
                    },
                    now,
                )
            )
        elif kind < 8:
            out.append(
                _FACTORY.make(
                    "storeedge.beacon.telemetry",
                    {"beacon_id": f"tag-{n % 40}", "battery_mv": 2950, "temperature_c": 21.5},
                    now,
                )
            )
        elif kind == 8:
            out.append(
                _FACTORY.make(
                    "storeedge.cart.line_added",
                    {
                        "customer_id": f"C-{n % 5000:06d}",
                        "cart_version": n,
                        "line": {"line_id": "L1", "sku": "ROBE-ROSE-8A", "qty": 1},
                    },
                    now,
                )
            )
        else:
            out.append(
                _FACTORY.make(
                    "storeedge.alert.raised",
                    {
                        "alert_id": _FACTORY.new_id(now),
                        "kind": "advisor",
                        "customer_id": None,
                        "zone": "kiosk",
                    },
                    now,
                )
            )
    return out


def settings(data_dir: Path, port: int) -> Settings:
    data_dir.mkdir(parents=True, exist_ok=True)
    return Settings(
        source=data_dir / "bench.toml",
        store=StoreSettings(id="store-042", edge_id="edge-1"),
        mqtt=MqttSettings(host="127.0.0.1", port=port, tls=False, keepalive_s=30),
        data=DataSettings(dir=data_dir),
        scanners=(),
    )


class Quiet:
    def on_profile(self, profile: CustomerProfile) -> None: ...

    def on_erase(self, customer_id: str) -> None: ...

    def on_catalog(self, sku: str, product: dict[str, Any] | None) -> None: ...

    def on_command(self, name: str, event: dict[str, Any]) -> dict[str, Any] | None:  # noqa: ARG002
        return None


def make_link(s: Settings, outbox: Outbox) -> tuple[MqttLink, LocalCache]:
    cache = LocalCache(s.data.dir / "cache.sqlite")
    link = MqttLink(
        s,
        outbox,
        cache,
        Quiet(),
        boot_id="bench",
        version="bench",
        window=WINDOW,
        backoff_min_s=0.05,
        backoff_max_s=0.2,
    )
    return link, cache


def raw_paho(port: int, sealed: list[tuple[str, bytes]], bounded: bool = False) -> float:
    """Seconds for plain paho (MQTT 5, QoS 1, same window) to get every PUBACK.

    ``bounded=False`` is plain paho use: every message handed to ``publish()`` at
    once, paho queues what exceeds the window (the faster, stricter baseline for
    tens of thousands of events). ``bounded=True`` feeds at most ``WINDOW``
    unacknowledged messages, as the outbox feeds the link; use it for very large
    counts, where paho's own queue of 100,000 messages slows it down badly.
    """
    done = threading.Event()
    room = threading.Condition()
    acked = 0

    def on_publish(*_args: object) -> None:
        nonlocal acked
        with room:
            acked += 1
            room.notify()
        if acked == len(sealed):
            done.set()

    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id="bench-raw",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.max_inflight_messages_set(WINDOW)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    while not client.is_connected():
        time.sleep(0.01)
    started = time.perf_counter()
    for sent, (topic, payload) in enumerate(sealed):
        if bounded:
            with room:
                while sent - acked >= WINDOW:
                    room.wait(1.0)
        client.publish(topic, payload, qos=1)
    done.wait(600)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed


def sealed_for_raw(evs: list[Event]) -> list[tuple[str, bytes]]:
    return [
        (f"storeedge/v1/store-042/edge-1/events/{e.short_type}", e.seal(SOURCE, n + 1))
        for n, e in enumerate(evs)
    ]


@dataclasses.dataclass
class DiskIo:
    """Bytes this process caused to be written to storage (Linux /proc/self/io)."""

    write_bytes: int
    wchar: int

    @staticmethod
    def now() -> DiskIo:
        fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
        return DiskIo(
            write_bytes=int(fields["write_bytes"]) - int(fields["cancelled_write_bytes"]),
            wchar=int(fields["wchar"]),
        )

    def since(self, before: DiskIo) -> DiskIo:
        return DiskIo(self.write_bytes - before.write_bytes, self.wchar - before.wchar)


def wait_drained(outbox: Outbox, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if outbox.pending() == 0 and outbox.stats()["queued"] == 0:
            return True
        time.sleep(0.005)
    return False
