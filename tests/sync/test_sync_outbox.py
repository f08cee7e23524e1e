"""The outbox on real SQLite files: sequences, group commit, lanes, drops, corruption, full disk."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from polling import wait_until
from synckit import alert, arrival, telemetry

from storeedge.adapters.outbox import Committed, Outbox, OutboxRow
from storeedge.core.events import Lane

SOURCE = "/stores/store-042/edges/edge-1"


def drain(outbox: Outbox, limit: int = 10_000) -> list[OutboxRow]:
    rows = outbox.fetch(limit)
    outbox.ack(rows)
    assert outbox.flush()
    return rows


def test_sequence_starts_at_one_is_contiguous_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path, SOURCE)
    events = [arrival(n) for n in range(150)]
    for event in events:
        outbox.emit(event)
    assert outbox.flush()
    rows = outbox.fetch(1000)
    assert [r.sequence for r in rows] == list(range(1, 151))
    assert rows[0].payload == events[0].seal(SOURCE, 1)  # the exact bytes, stored
    outbox.ack(rows[:100])
    outbox.close()

    again = Outbox(path, SOURCE)
    assert again.pending() == 50
    assert [r.sequence for r in again.fetch(1000)] == list(range(101, 151))
    again.emit(arrival(999))
    assert again.flush()
    assert again.next_sequence == 152
    again.close()


def test_group_commit_batches_many_events_into_few_transactions(tmp_path: Path) -> None:
    committed: list[list[Committed]] = []
    outbox = Outbox(tmp_path / "o.sqlite", SOURCE, on_commit=committed.append)
    for n in range(1000):
        outbox.emit(arrival(n))
    assert outbox.flush()
    sizes = [len(c) for c in committed]
    assert sum(sizes) == 1000
    assert max(sizes) <= 100
    assert len(sizes) <= 15
    outbox.close()


def test_a_lone_event_is_committed_within_the_window(tmp_path: Path) -> None:
    done = threading.Event()
    outbox = Outbox(tmp_path / "o.sqlite", SOURCE, on_commit=lambda _c: done.set())
    started = time.monotonic()
    outbox.emit(alert(1))
    assert done.wait(2)
    assert time.monotonic() - started < 0.5
    outbox.close()


def test_critical_lane_is_fetched_before_older_presence_rows(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", SOURCE)
    for n in range(20):
        outbox.emit(telemetry(n))
        outbox.emit(arrival(n))
    outbox.emit(alert(1))
    assert outbox.flush()
    rows = outbox.fetch(100)
    assert rows[0].lane == Lane.CRITICAL
    assert [r.lane for r in rows[1:21]] == [Lane.PRESENCE] * 20
    assert [r.lane for r in rows[21:]] == [Lane.ANALYTICS] * 20
    outbox.close()


def test_full_outbox_drops_oldest_low_lane_rows_and_says_which(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", SOURCE, capacity=200, batch=50)
    for n in range(150):
        outbox.emit(telemetry(n))
    for n in range(120):
        outbox.emit(alert(n))
    assert outbox.flush()
    rows = outbox.fetch(10_000)
    by_lane = {lane: [r for r in rows if r.lane == lane] for lane in Lane}
    reports = [json.loads(r.payload) for r in by_lane[Lane.CRITICAL]]
    dropped = [e for e in reports if e["type"] == "storeedge.edge.dropped"]
    alerts = [e for e in reports if e["type"] == "storeedge.alert.raised"]
    assert len(alerts) == 120  # critical never drops
    assert dropped
    listed = {s for e in dropped for a, b in e["data"]["sequences"] for s in range(a, b + 1)}
    assert sum(e["data"]["count"] for e in dropped) == len(listed)
    assert all(e["data"]["lane"] == "analytics" for e in dropped)
    assert all(e["data"]["reason"] == "outbox_full" for e in dropped)
    kept = {r.sequence for r in by_lane[Lane.ANALYTICS]}
    assert listed.isdisjoint(kept)
    assert listed | kept == set(range(1, 151))  # every telemetry is either kept or listed
    assert min(kept) > max(listed)  # the oldest went first
    everything = {r.sequence for r in rows} | listed
    assert everything == set(range(1, outbox.next_sequence))  # no unexplained gap
    assert outbox.stats()["dropped"]["analytics.outbox_full"] == len(listed)
    outbox.close()


def test_undroppable_events_back_pressure_instead_of_dropping(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", SOURCE, capacity=100, batch=10, queue_limit=10)
    for n in range(100):
        outbox.emit(alert(n))
    assert outbox.flush()
    for n in range(100, 110):
        outbox.emit(alert(n))  # queued, cannot be stored yet
    blocked = threading.Thread(target=outbox.emit, args=(alert(999),))
    blocked.start()
    blocked.join(0.5)
    assert blocked.is_alive()  # deliberate back-pressure
    outbox.ack(outbox.fetch(30))
    blocked.join(5)
    assert not blocked.is_alive()
    assert outbox.flush()
    assert outbox.pending() == 81
    assert outbox.stats()["dropped"] == {}
    outbox.close()


def test_low_lanes_do_not_block_when_the_queue_is_full(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", SOURCE, capacity=100, batch=10, queue_limit=10)
    for n in range(100):
        outbox.emit(alert(n))
    for n in range(10):
        outbox.emit(alert(100 + n))
    started = time.monotonic()
    for n in range(50):
        outbox.emit(telemetry(n))  # dropped before getting a sequence, counted
    assert time.monotonic() - started < 1.0
    outbox.ack(outbox.fetch(100))
    assert outbox.flush()
    rows = outbox.fetch(1000)
    dropped = [json.loads(r.payload) for r in rows if b"edge.dropped" in r.payload]
    assert sum(e["data"]["count"] for e in dropped) == 50
    assert all(e["data"]["sequences"] == [] for e in dropped)
    outbox.close()


def test_concurrent_emitters_get_contiguous_sequences(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", SOURCE)
    events = [[arrival(t * 1000 + n) for n in range(500)] for t in range(4)]
    threads = [threading.Thread(target=lambda ev=ev: [outbox.emit(e) for e in ev]) for ev in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outbox.flush()
    rows = outbox.fetch(10_000)
    assert sorted(r.sequence for r in rows) == list(range(1, 2001))
    ids = {json.loads(r.payload)["id"] for r in rows}
    assert ids == {e.id for ev in events for e in ev}
    outbox.close()


def test_corrupt_database_is_moved_aside_and_the_sequence_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path, SOURCE)
    for n in range(300):
        outbox.emit(arrival(n))
    assert outbox.flush()
    outbox.close()
    blob = bytearray(path.read_bytes())
    blob[4096 : 4096 * 3] = b"\xa5" * (4096 * 2)  # trash two pages in the middle
    path.write_bytes(bytes(blob))

    alerts: list[tuple[str, str]] = []
    fresh = Outbox(path, SOURCE, alert=lambda kind, detail, _id: alerts.append((kind, detail)))
    assert fresh.flush()
    aside = [p for p in tmp_path.glob("outbox.sqlite.corrupt-*") if not p.name.endswith("shm")]
    aside = [p for p in aside if not p.name.endswith("wal")]
    assert aside, "the corrupt file is kept"
    assert aside[0].stat().st_size == len(blob)
    assert alerts
    assert alerts[0][0] == "outbox_corrupt"
    rows = fresh.fetch(100)
    assert len(rows) == 1
    event = json.loads(rows[0].payload)
    assert event["type"] == "storeedge.alert.raised"
    assert event["data"]["kind"] == "outbox_corrupt"
    assert int(event["sequence"]) > 300  # never reuses a sequence
    fresh.close()


def test_garbage_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    path.write_bytes(b"this is not a database at all" * 1000)
    outbox = Outbox(path, SOURCE)
    outbox.emit(alert(1))
    assert outbox.flush()
    assert (tmp_path / "outbox.sqlite").exists()
    assert [
        p for p in tmp_path.glob("outbox.sqlite.corrupt-*") if p.name[-4:] not in ("-shm", "-wal")
    ]
    assert outbox.stats()["corrupt_replaced"] == 1
    outbox.close()


def test_full_disk_is_back_pressure_not_a_crash(tmp_path: Path) -> None:
    alerts: list[str] = []
    outbox = Outbox(
        tmp_path / "o.sqlite",
        SOURCE,
        max_pages=40,
        queue_limit=200,
        alert=lambda kind, _d, _id: alerts.append(kind),
    )
    for n in range(400):
        outbox.emit(alert(n) if n % 2 else arrival(n))
    # NB: a generous bound: on a loaded machine the writer may take a while to fill 40 pages.
    assert wait_until(lambda: outbox.stats()["disk_full"], timeout=30, every=0.01)
    # the writer sets the flag, then raises the alert: wait for both
    assert wait_until(lambda: bool(alerts), timeout=30, every=0.01)
    assert alerts == ["outbox_disk_full"]
    stored = outbox.pending()
    assert stored > 0
    # the disk gets room again (here: the page cap goes up)
    with outbox._store._db_lock:  # the test plays the operator freeing space
        outbox._store._conn.execute("PRAGMA max_page_count=100000")
    assert outbox.flush(15)
    assert not outbox.stats()["disk_full"]
    rows = outbox.fetch(10_000)
    sequences = sorted(r.sequence for r in rows)
    assert sequences == list(range(1, len(rows) + 1))
    types = [json.loads(r.payload)["type"] for r in rows]
    assert types.count("storeedge.alert.raised") >= 200  # no critical event was lost
    outbox.close()


def test_emit_after_close_is_loud(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", SOURCE)
    outbox.close()
    with pytest.raises(RuntimeError):
        outbox.emit(alert(1))


def test_sequence_floor_survives_losing_the_database(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path, SOURCE)
    for n in range(10):
        outbox.emit(alert(n))
    assert outbox.flush()
    outbox.close()
    for extra in ("", "-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)
    again = Outbox(path, SOURCE)
    assert again.next_sequence > 10
    again.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_scrub_waits_for_every_event_queued_before_it_and_is_on_disk_when_confirmed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path, SOURCE, batch=10, window_s=0.5)  # many batches still queued
    try:
        for n in range(300):
            outbox.emit(arrival(n, customer_id="C-000123"))
        assert outbox.request_scrub(wait_s=10.0)
        with sqlite3.connect(path) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'scrub_watermark'").fetchone()
        assert row[0] >= 300  # the last event about the customer is under the watermark
        drain(outbox)
        assert outbox.flush()
        assert wait_until(lambda: outbox.stats().get("scrubs", 0) >= 1, 10.0)
        assert outbox.stats().get("scrubs", 0) == 1
        assert b"C-000123" not in path.read_bytes()
    finally:
        outbox.close()
