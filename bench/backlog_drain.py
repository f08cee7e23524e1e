"""Time to drain a backlog (default 100,000 events) stored while the broker was away.

    .venv/bin/python bench/backlog_drain.py [--events 100000] [--window 64]

Fills the outbox with no broker reachable, then starts a private mosquitto and
times the link until every event is acknowledged, and until every row is
deleted. Also prints the bytes written to storage per event (fill and drain).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from benchkit import SOURCE, DiskIo, events, raw_paho, sealed_for_raw, settings

from storeedge.adapters.broker import PrivateMosquitto, free_port
from storeedge.adapters.cache import LocalCache
from storeedge.adapters.mqtt import MqttLink
from storeedge.adapters.outbox import Outbox


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=64)
    args = parser.parse_args()
    n = args.events
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="storeedge-bench-") as tmp:
        work = Path(tmp)
        s = settings(work, port)
        outbox = Outbox(work / "outbox.sqlite", SOURCE, capacity=2 * n, queue_limit=n)
        evs = events(n)
        io0 = DiskIo.now()
        started = time.perf_counter()
        for event in evs:
            outbox.emit(event)
        outbox.flush(600)
        fill = time.perf_counter() - started
        io_fill = DiskIo.now().since(io0)
        size = sum(p.stat().st_size for p in work.glob("outbox.sqlite*"))
        print(
            f"fill: {n} events stored in {fill:.1f} s ({n / fill:.0f} ev/s), "
            f"{io_fill.write_bytes / n:.0f} B/event to storage, database + WAL {size / 1e6:.1f} MB"
        )
        cache = LocalCache(work / "cache.sqlite")
        from benchkit import Quiet

        link = MqttLink(
            s,
            outbox,
            cache,
            Quiet(),
            "bench",
            "bench",
            window=args.window,
            backoff_min_s=0.05,
            backoff_max_s=0.1,
        )
        with PrivateMosquitto(port=port) as broker:
            io1 = DiskIo.now()
            started = time.perf_counter()
            link.start()
            while link.counters["acked"] < outbox.stats()["committed"]:
                time.sleep(0.01)
            acked = time.perf_counter() - started
            while outbox.pending():
                time.sleep(0.01)
            deleted = time.perf_counter() - started
            io_drain = DiskIo.now().since(io1)
            link.stop(5)
            print(
                f"drain: {n} events acknowledged in {acked:.1f} s ({n / acked:.0f} ev/s), "
                f"all rows deleted after {deleted:.1f} s; "
                f"{io_drain.write_bytes / n:.0f} B/event to storage"
            )
            print(
                f"written per event, fill + drain: "
                f"{(io_fill.write_bytes + io_drain.write_bytes) / n:.0f} B to storage, "
                f"{(io_fill.wchar + io_drain.wchar) / n:.0f} B through write()"
            )
            raw = raw_paho(broker.port, sealed_for_raw(evs), bounded=True)
            print(
                f"reference: raw paho QoS 1, fed one window at a time, sends the same {n} events "
                f"in {raw:.1f} s "
                f"({n / raw:.0f} ev/s); drain/raw ratio {raw / acked:.2f}"
            )
        outbox.close()
        cache.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
