"""A minimal edge for chaos tests: outbox + cache + MQTT link, emitting probe events.

Run as a subprocess so the test can kill -9 it. Each event carries
``data.probe`` = the sequence it is expected to get (events are stored in
emission order), so the checker can tell an unexpected event from a valid one.

Protocol on stdout: ``READY <next sequence>``, ``STOPPED``, ``DRAINED <last>``.
A line ``STOP`` on stdin stops emitting; the process then drains and exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from storeedge.adapters.cache import LocalCache
from storeedge.adapters.mqtt import MqttLink
from storeedge.adapters.outbox import Outbox, OutboxRow
from storeedge.config import load_settings
from storeedge.core.events import Event, EventFactory
from storeedge.core.profiles import CustomerProfile

KINDS = (
    (
        "storeedge.customer.arrived",
        {"customer_id": "C-1", "visit_id": "v", "zone": "z", "via": "ble"},
    ),
    ("storeedge.beacon.telemetry", {"beacon_id": "b", "battery_mv": 2900, "temperature_c": 20}),
    (
        "storeedge.alert.raised",
        {"alert_id": "a", "kind": "advisor", "customer_id": None, "zone": "z"},
    ),
    ("storeedge.cart.line_added", {"customer_id": "C-1", "cart_version": 1, "line": {"sku": "S"}}),
)


class Quiet:
    def on_profile(self, profile: CustomerProfile) -> None: ...

    def on_erase(self, customer_id: str) -> None: ...

    def on_catalog(self, sku: str, product: dict[str, Any] | None) -> None: ...

    def on_command(self, name: str, event: dict[str, Any]) -> dict[str, Any] | None:
        return None


def log_acks(outbox: Outbox, path: Path) -> None:
    """Records when the broker acknowledged each sequence (to tell broker losses apart)."""
    sink = path.open("a", buffering=1, encoding="ascii")
    original = outbox.ack

    def ack(rows: Iterable[OutboxRow]) -> None:
        rows = list(rows)
        now = time.time()
        sink.write("".join(f"{row.sequence} {now:.4f}\n" for row in rows))
        original(rows)

    outbox.ack = ack  # type: ignore[method-assign]  # a test probe around the real method


def probe_event(factory: EventFactory, probe: int) -> Event:
    kind, data = KINDS[probe % len(KINDS)]
    return factory.make(kind, {**data, "probe": probe}, time.time())


def say(line: str) -> None:
    """Protocol and report lines on stdout (this is a command-line tool)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=150.0)
    parser.add_argument("--max-events", type=int, default=10**9)
    parser.add_argument("--ack-log", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO if os.environ.get("CHAOS_LOG") else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(threadName)s %(name)s %(message)s",
    )
    settings = load_settings(args.config)
    data = settings.data.dir
    outbox = Outbox(data / "outbox.sqlite", settings.source_uri)
    cache = LocalCache(data / "cache.sqlite")
    link = MqttLink(
        settings,
        outbox,
        cache,
        Quiet(),
        boot_id="chaos",
        version="chaos",
        backoff_min_s=0.2,
        backoff_max_s=1.5,
    )
    if args.ack_log is not None:
        log_acks(outbox, args.ack_log)
    link.start()
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    factory = EventFactory()
    probe = outbox.next_sequence
    say(f"READY {probe}")
    interval = 1.0 / args.rate
    due = time.monotonic()
    emitted = 0
    while not stop.is_set() and emitted < args.max_events:
        outbox.emit(probe_event(factory, probe))
        probe += 1
        emitted += 1
        due += interval
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    outbox.flush(30)
    say("STOPPED")
    deadline = time.monotonic() + 90
    while outbox.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    if outbox.pending():
        say(f"STUCK {outbox.stats()} {link.status()}")
    say(f"DRAINED {outbox.next_sequence - 1} pending={outbox.pending()}")
    link.stop(5)
    outbox.close()
    cache.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
