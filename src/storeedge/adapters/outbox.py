"""The durable outbox: an event exists once its row is committed here.

``emit`` (core thread) only appends to an in-memory queue
(:mod:`~storeedge.adapters.outbox_intake`); one writer thread, here, commits the
queue in groups (at most ``batch`` events, or ``window_s`` after the oldest
queued event arrived), assigning each event its ``sequence`` inside the storing
transaction and storing the sealed bytes (:mod:`~storeedge.adapters.outbox_store`).
The MQTT link reads rows with :meth:`Outbox.fetch` and removes them with
:meth:`Outbox.ack` once the broker has acknowledged them; acknowledgements are
deleted in the writer's next transaction.

Bounds and policy (docs/sync.md has the table):

- The store holds at most ``capacity`` rows; what drops when it is full, and how
  central is told, is :mod:`~storeedge.adapters.outbox_lanes`.
- Critical and transaction events never drop: when they cannot be stored
  (store full of undroppable rows, disk full) they wait in the queue, and when
  the queue is full ``emit`` blocks the caller: deliberate back-pressure.
- Droppable events that meet a full queue are dropped before they get a
  sequence (no gap) and counted in the next ``dropped`` event.
- A corrupt database is renamed aside, never deleted; a fresh one continues the
  sequence (see :mod:`storeedge.adapters.outbox_db`) and an alert is raised.
- A full disk rolls the transaction back and retries with backoff; emitters
  feel it as back-pressure, the thread never dies.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

from storeedge.adapters import outbox_db as db
from storeedge.adapters.outbox_intake import Batch, Intake, OutboxClosedError
from storeedge.adapters.outbox_lanes import DROPPABLE, MAX_RANGES_PER_EVENT
from storeedge.adapters.outbox_store import Committed, OutboxRow, OutboxStore
from storeedge.core.events import Event, EventFactory

_LOGGER = logging.getLogger(__name__)

BACKOFF_MAX_S: Final = 5.0

Alert = Callable[[str, str, str], None]  # (kind, detail, alert_id of the raised event)


class Outbox:
    """SQLite outbox with group commit, lanes and an explicit drop policy. Thread-safe."""

    def __init__(
        self,
        path: Path,
        source: str,
        *,
        capacity: int = 200_000,
        queue_limit: int = 20_000,
        batch: int = 100,
        window_s: float = 0.05,
        ack_batch: int = 500,
        ack_window_s: float = 0.25,
        page_size: int = db.PAGE_SIZE,
        synchronous: str = "FULL",
        max_pages: int | None = None,
        alert: Alert | None = None,
        on_commit: Callable[[list[Committed]], None] | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("synchronous must be FULL, NORMAL or EXTRA")
        self.path = path
        self.source = source
        self._capacity = max(capacity, 100)
        # NB: deletions are batched more widely than inserts: a deleted row only has to be
        # gone eventually (until then a crash means a byte-identical redelivery), and
        # fewer, larger deletions rewrite each half-emptied page fewer times.
        self._intake = Intake(
            queue_limit=queue_limit,
            batch=batch,
            window_s=window_s,
            ack_batch=ack_batch,
            ack_window_s=ack_window_s,
        )
        self._alert = alert
        self._on_commit = on_commit
        self._wall = wall
        self._factory = EventFactory()
        self._closed = False
        self._disk_full_since: float | None = None
        self._rows_event = threading.Event()
        self._dropped: collections.Counter[str] = collections.Counter()
        self._store = OutboxStore(
            path,
            source,
            synchronous=synchronous,
            max_pages=max_pages,
            page_size=page_size,
            on_corrupt=self._corrupt,
        )
        self._writer = threading.Thread(target=self._run, name="storeedge-outbox", daemon=True)
        self._writer.start()

    # --- alerts about the outbox itself ----------------------------------------------------

    def _corrupt(self, detail: str, aside: Path) -> None:
        with self._intake.cond:
            self._intake.stats["corrupt_replaced"] += 1
        alert_id = self.emit_alert("outbox_corrupt", {"detail": detail, "quarantined": aside.name})
        self._raise_alert("outbox_corrupt", detail, alert_id)

    def _raise_alert(self, kind: str, detail: str, alert_id: str) -> None:
        if self._alert is not None:
            try:
                self._alert(kind, detail, alert_id)
            except Exception:  # NB: an alert hook must not take the outbox down with it
                _LOGGER.exception("outbox alert hook failed")

    def emit_alert(self, kind: str, extra: dict[str, Any]) -> str:
        """Queues a ``storeedge.alert.raised`` about the edge itself (critical lane).

        Returns its ``alert_id``, so the staff console can show the very same alert.
        """
        now = self._wall()
        alert_id = self._factory.new_id(now)
        data: dict[str, Any] = {
            "alert_id": alert_id,
            "kind": kind,
            "customer_id": None,
            "zone": None,
            **extra,
        }
        self._intake.put_now(self._factory.make("storeedge.alert.raised", data, now))
        return alert_id

    # --- the core side ---------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Queues ``event`` for the next group commit (thread-safe, normally immediate).

        Blocks only when the queue is full and the event may not drop.
        """
        self._intake.put(event)

    def request_scrub(self, wait_s: float = 0.0) -> bool:
        """After an erasure: once every event queued so far has left, purge the file's free space.

        Returns True once the request is on disk (its watermark committed, so a
        restart still scrubs), waiting at most ``wait_s`` for that; False if not
        yet (the request stands and is recorded with a later commit).

        NB: the caller must call this only after the core has forgotten the
        customer, so that every event that names them is already queued.
        """
        return self._intake.request_scrub(wait_s)

    def flush(self, timeout: float = 10.0) -> bool:
        """Waits until everything queued so far is committed (tests, shutdown)."""
        return self._intake.wait_idle(timeout)

    # --- the publisher side ----------------------------------------------------------------

    def fetch(self, limit: int) -> list[OutboxRow]:
        """The next rows not handed out yet, most urgent lane first, oldest first in a lane."""
        return self._store.fetch(limit, self._intake.acks)

    def rewind(self) -> None:
        """Hands every stored row out again from the oldest (a new MQTT session)."""
        self._store.rewind()

    def ack(self, rows: Iterable[OutboxRow]) -> None:
        """The broker has the rows: delete them (in the writer's next transaction)."""
        self._intake.add_acks((row.lane, row.sequence) for row in rows)

    def wait_for_rows(self, timeout: float) -> bool:
        """Blocks until a commit stored new rows (or ``timeout``)."""
        fired = self._rows_event.wait(timeout)
        self._rows_event.clear()
        return fired

    def pending(self) -> int:
        """Rows stored and not yet acknowledged-and-deleted."""
        return self._store.total()

    # --- the writer ------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.0
        intake = self._intake
        while True:
            batch = intake.take()
            if batch.stop and batch.empty:
                break
            try:
                deferred = self._write(batch)
            except sqlite3.Error as exc:
                intake.give_back(batch.events, batch.acks, batch.drops)
                backoff = self._on_db_error(exc, backoff)
                if intake.closing and backoff:
                    break
                continue
            except Exception:  # NB: a bug here must not kill the only thread that stores events
                _LOGGER.exception("outbox writer failed; retrying")
                intake.give_back(batch.events, batch.acks, batch.drops)
                backoff = min(max(backoff * 2, 0.1), BACKOFF_MAX_S)
                intake.sleep(backoff)
                continue
            if backoff:
                self._on_recovered()
            backoff = 0.0
            if deferred:
                if batch.stop:
                    _LOGGER.error(
                        "outbox closing with %d undroppable events unstored", len(deferred)
                    )
                    break
                intake.give_back(deferred, set(), collections.Counter())
                intake.sleep(0.05)  # NB: nothing can leave until the broker acks; do not spin
            if self._store.scrub_if_due():
                with intake.cond:
                    intake.stats["scrubs"] += 1
        intake.finished()

    def _write(self, batch: Batch) -> list[Event]:
        """Stores one batch; returns the events deferred for lack of room."""
        scrub = self._intake.scrub_requested
        if batch.empty and not scrub:
            return []
        deferred, committed = self._store.write(
            batch.events,
            batch.acks,
            batch.drops,
            scrub=scrub,
            capacity=self._capacity,
            factory=self._factory,
            now=self._wall(),
            tally=self._dropped,
        )
        if scrub:
            self._intake.scrub_covered(len(deferred))
        with self._intake.cond:
            self._intake.stats["committed"] += len(committed)
            self._intake.stats["commits"] += 1
        if committed:
            self._rows_event.set()
            if self._on_commit is not None:
                self._on_commit(committed)
        return deferred

    # --- failures --------------------------------------------------------------------------

    def _on_db_error(self, exc: sqlite3.Error, backoff: float) -> float:
        stats = self._intake.stats
        if db.is_full(exc):
            if self._disk_full_since is None:
                self._disk_full_since = self._wall()
                self._intake.disk_full = True
                _LOGGER.error("outbox: disk full (%s); holding events in memory", exc)
                # NB: queued now (critical lane), written as soon as the disk takes it again.
                alert_id = self.emit_alert("outbox_disk_full", {"detail": str(exc)})
                self._raise_alert("outbox_disk_full", str(exc), alert_id)
            stats["disk_full_retries"] += 1
        elif db.is_corrupt(exc):
            stats["corrupt_at_runtime"] += 1
            self._store.replace_corrupt_now(str(exc))
            return 0.0
        else:
            _LOGGER.error("outbox write failed: %s; retrying", exc)
            stats["write_errors"] += 1
        backoff = min(max(backoff * 2, 0.1), BACKOFF_MAX_S)
        self._intake.sleep(backoff)
        return backoff

    def _on_recovered(self) -> None:
        if self._disk_full_since is not None:
            since = self._disk_full_since
            self._disk_full_since = None
            self._intake.disk_full = False
            _LOGGER.warning("outbox: disk writable again")
            self.emit_alert("outbox_disk_full", {"detail": "disk was full", "since_unix": since})

    # --- lifecycle and health --------------------------------------------------------------

    def close(self, timeout: float = 5.0) -> None:
        """Commits what is queued (bounded by ``timeout``) and closes the database."""
        if self._closed:
            return
        self._intake.close()
        self._writer.join(timeout)
        if self._writer.is_alive():
            _LOGGER.error("outbox writer did not finish within %.1f s", timeout)
        self._store.close()
        self._closed = True
        lost = self._intake.queued()
        if lost:
            _LOGGER.error("outbox closed with %d events not stored", lost)

    @property
    def quarantined(self) -> list[Path]:
        return self._store.quarantined

    @property
    def next_sequence(self) -> int:
        return self._store.next

    @property
    def healthy(self) -> bool:
        return self._disk_full_since is None and not self._intake.closing

    def stats(self) -> dict[str, Any]:
        with self._intake.cond:
            queued = self._intake.queued()
            counters = dict(self._intake.stats)
            dropped = dict(self._dropped)
        return {
            "pending": {lane.name.lower(): self._store.counts[lane] for lane in db.LANES},
            "pending_total": self._store.total(),
            "queued": queued,
            "next_sequence": self._store.next,
            "dropped": dropped,
            "disk_full": self._disk_full_since is not None,
            "quarantined": [p.name for p in self.quarantined],
            **counters,
        }


__all__ = [
    "DROPPABLE",
    "MAX_RANGES_PER_EVENT",
    "Committed",
    "Outbox",
    "OutboxClosedError",
    "OutboxRow",
]
