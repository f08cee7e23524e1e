"""Durable events/s (emit -> SQLite -> MQTT QoS 1 -> PUBACK -> delete) against raw paho.

    .venv/bin/python bench/outbox_throughput.py [--events 20000] [--rounds 3]

Both run in the same process against the same private mosquitto, with the
same events, topics and in-flight window. Prints figures and their ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from benchkit import (
    SOURCE,
    DiskIo,
    events,
    make_link,
    raw_paho,
    sealed_for_raw,
    settings,
    wait_drained,
)

from storeedge.adapters.broker import PrivateMosquitto
from storeedge.adapters.outbox import Outbox


def durable(port: int, count: int, work: Path, page_size: int) -> tuple[float, float, DiskIo]:
    """Seconds until every event was acknowledged by the broker, until all rows were deleted."""
    s = settings(work, port)
    outbox = Outbox(
        work / "outbox.sqlite", SOURCE, capacity=10 * count, queue_limit=count, page_size=page_size
    )
    link, cache = make_link(s, outbox)
    link.start()
    while not link.connected:
        time.sleep(0.01)
    evs = events(count)
    io_before = DiskIo.now()
    started = time.perf_counter()
    for event in evs:
        outbox.emit(event)
    while link.counters["acked"] < count:
        time.sleep(0.002)
    acked = time.perf_counter() - started
    wait_drained(outbox, 600)
    deleted = time.perf_counter() - started
    io = DiskIo.now().since(io_before)
    link.stop(5)
    outbox.close()
    cache.close()
    return acked, deleted, io


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page-size", type=int, default=4096)
    args = parser.parse_args()
    n = args.events
    with (
        PrivateMosquitto() as broker,
        tempfile.TemporaryDirectory(prefix="storeedge-bench-") as tmp,
    ):
        sealed = sealed_for_raw(events(n))
        size = sum(len(p) for _t, p in sealed) / n
        ratios: list[float] = []
        print(f"{n} events per round, {size:.0f} bytes each on average, window 64, QoS 1")
        for round_no in range(args.rounds):
            raw = raw_paho(broker.port, sealed)
            took, deleted, io = durable(
                broker.port, n, Path(tmp) / f"round{round_no}", args.page_size
            )
            ratios.append(raw / took)
            print(
                f"round {round_no + 1}: raw paho {n / raw:6.0f} ev/s | durable outbox "
                f"{n / took:6.0f} ev/s acknowledged ({n / deleted:6.0f} ev/s until deleted) | "
                f"ratio {raw / took:.2f} | disk {io.write_bytes / n:5.0f} B/event to storage, "
                f"{io.wchar / n:5.0f} B/event through write()",
                flush=True,
            )
        ratios.sort()
        print(f"median ratio durable/raw: {ratios[len(ratios) // 2]:.2f} over {len(ratios)} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
