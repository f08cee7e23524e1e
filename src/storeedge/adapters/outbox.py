"""The durable outbox: an event exists once its row is committed here.

``emit`` (core thread) only appends to an in-memory queue; one writer thread
commits the queue in groups (at most ``batch`` events, or ``window_s`` after
the oldest queued event arrived), assigning each event its ``sequence`` inside
the storing transaction and storing the sealed bytes. The MQTT link reads rows
with :meth:`Outbox.fetch` and removes them with :meth:`Outbox.ack` once the
broker has acknowledged them; acknowledgements are deleted in the writer's
next transaction.

Bounds and policy (docs/sync.md has the table):

- The store holds at most ``capacity`` rows. When an event does not fit, the
  oldest rows of a lane that may drop (analytics first, then presence, never a
  lane above the incoming event's) are deleted, in chunks of 1 % of the
  capacity, and a ``storeedge.edge.dropped`` event is committed *in the same
  transaction*, naming the lane, the count, the reason and the exact
  ``sequences`` dropped (as ``[first, last]`` ranges). Central can thus tell a
  counted drop (listed) from a loss (a gap nobody listed).
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
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from storeedge.adapters import outbox_db as db
from storeedge.core.events import Event, EventFactory, Lane

_LOGGER = logging.getLogger(__name__)

DROPPABLE: Final = (Lane.ANALYTICS, Lane.PRESENCE)  # dropped in this order
MAX_RANGES_PER_EVENT: Final = 500
BACKOFF_MAX_S: Final = 5.0


class OutboxClosedError(RuntimeError):
    """``emit`` after ``close``: the event cannot be stored any more."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One stored event, as the publisher sees it."""

    sequence: int
    lane: Lane
    payload: bytes  # the sealed CloudEvent, byte for byte what goes on the wire


@dataclass(frozen=True, slots=True)
class Committed:
    sequence: int
    event_id: str
    type: str


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
        self._queue_limit = max(queue_limit, batch)
        self._batch = batch
        self._window = window_s
        # NB: deletions are batched more widely than inserts: a deleted row only has to be
        # gone eventually (until then a crash means a byte-identical redelivery), and
        # fewer, larger deletions rewrite each half-emptied page fewer times.
        self._ack_batch = ack_batch
        self._ack_window = ack_window_s
        self._synchronous = synchronous
        self._max_pages = max_pages
        self._page_size = page_size
        self._alert = alert
        self._on_commit = on_commit
        self._wall = wall
        self._factory = EventFactory()
        self._floor = db.SequenceFloor(path.with_name(path.name + ".seq"))

        self._cond = threading.Condition()
        self._queue: collections.deque[tuple[float, Event]] = collections.deque()
        self._acks: set[tuple[Lane, int]] = set()
        self._acks_since = 0.0
        self._unsequenced: collections.Counter[tuple[Lane, str]] = collections.Counter()
        self._scrub_requested = False
        self._busy = False
        self._held = 0  # events the writer has taken and not yet stored or given back
        self._closing = False
        self._closed = False
        self._disk_full_since: float | None = None
        self._rows_event = threading.Event()

        self._db_lock = threading.RLock()
        self._cursors = dict.fromkeys(db.LANES, 0)
        self._counts = dict.fromkeys(db.LANES, 0)
        self._stats: collections.Counter[str] = collections.Counter()
        self._dropped: collections.Counter[str] = collections.Counter()
        self.quarantined: list[Path] = []
        self._conn = self._open()
        # NB: the publisher reads through its own connection (WAL readers do not wait for
        # the writer), so a group commit's fsync never stalls the in-flight window.
        self._read_lock = threading.Lock()
        self._reader = db.open_reader(self.path)
        self._writer = threading.Thread(target=self._run, name="storeedge-outbox", daemon=True)
        self._writer.start()

    # --- opening ---------------------------------------------------------------------------

    def _open(self, known_next: int = 0) -> sqlite3.Connection:
        try:
            conn = db.connect(self.path, self._synchronous, self._max_pages, self._page_size)
        except sqlite3.DatabaseError as exc:
            if not db.is_corrupt(exc):
                raise
            return self._replace_corrupt(str(exc), known_next)
        self._load_state(conn)
        return conn

    def _load_state(self, conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'next_sequence'").fetchone()
        self._next = int(row[0])
        row = conn.execute("SELECT value FROM meta WHERE key = 'scrub_watermark'").fetchone()
        self._watermark = int(row[0])
        for lane in db.LANES:
            self._counts[lane] = conn.execute(db.COUNT[lane]).fetchone()[0]
        self._floor_value = self._floor.read()
        if self._floor_value > self._next and self._total() == 0 and self._next == 1:
            # NB: a database file that was removed or replaced: never reuse a sequence.
            self._next = self._floor_value
            conn.execute("UPDATE meta SET value = ? WHERE key = 'next_sequence'", (self._next,))

    def _replace_corrupt(self, reason: str, known_next: int) -> sqlite3.Connection:
        salvaged = db.salvage_next_sequence(self.path)
        aside = db.quarantine(self.path)
        self.quarantined.append(aside)
        conn = db.connect(self.path, self._synchronous, self._max_pages, self._page_size)
        self._load_state(conn)
        restart = max(self._next, salvaged, self._floor.read(), known_next, 1)
        self._next = restart
        conn.execute("UPDATE meta SET value = ? WHERE key = 'next_sequence'", (restart,))
        self._stats["corrupt_replaced"] += 1
        detail = f"outbox database was corrupt ({reason}); moved aside to {aside.name}"
        alert_id = self.emit_alert("outbox_corrupt", {"detail": detail, "quarantined": aside.name})
        self._raise_alert("outbox_corrupt", detail, alert_id)
        return conn

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
        with self._cond:
            self._queue.append(
                (time.monotonic(), self._factory.make("storeedge.alert.raised", data, now))
            )
            self._cond.notify_all()
        return alert_id

    # --- the core side ---------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Queues ``event`` for the next group commit (thread-safe, normally immediate).

        Blocks only when the queue is full and the event may not drop.
        """
        lane = event.lane
        with self._cond:
            warned_at = time.monotonic()
            while len(self._queue) + self._held >= self._queue_limit and not self._closing:
                if lane.may_drop:
                    reason = "disk_full" if self._disk_full_since is not None else "queue_full"
                    self._unsequenced[(lane, reason)] += 1
                    self._cond.notify_all()
                    return
                self._stats["backpressure_waits"] += 1
                self._cond.wait(0.5)
                if time.monotonic() - warned_at > 5.0:
                    _LOGGER.warning("outbox full: %s waits (back-pressure)", event.type)
                    warned_at = time.monotonic()
            if self._closing:
                raise OutboxClosedError(f"outbox closed; {event.type} {event.id} not stored")
            self._queue.append((time.monotonic(), event))
            self._stats["emitted"] += 1
            if len(self._queue) >= self._batch or len(self._queue) == 1:
                self._cond.notify_all()

    def request_scrub(self) -> None:
        """After an erasure: once every event stored so far has left, purge the file's free space.

        NB: the caller must call this only after the core has forgotten the
        customer, so that every event that names them is already queued.
        """
        with self._cond:
            self._scrub_requested = True
            self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Waits until everything queued so far is committed (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._cond.notify_all()
            while self._queue or self._busy or self._scrub_requested:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    # --- the publisher side ----------------------------------------------------------------

    def fetch(self, limit: int) -> list[OutboxRow]:
        """The next rows not handed out yet, most urgent lane first, oldest first in a lane."""
        out: list[OutboxRow] = []
        with self._read_lock:
            for lane in db.LANES:
                want = limit - len(out)
                if want <= 0:
                    break
                if self._counts[lane] == 0:
                    continue
                rows = self._reader.execute(
                    db.SELECT_AFTER[lane],
                    (self._cursors[lane], want),
                ).fetchall()
                acked = self._acks
                for seq, payload in rows:
                    self._cursors[lane] = seq
                    if (lane, seq) not in acked:
                        out.append(OutboxRow(seq, lane, bytes(payload)))
        return out

    def rewind(self) -> None:
        """Hands every stored row out again from the oldest (a new MQTT session)."""
        with self._read_lock:
            self._cursors = dict.fromkeys(db.LANES, 0)

    def ack(self, rows: Iterable[OutboxRow]) -> None:
        """The broker has the rows: delete them (in the writer's next transaction)."""
        with self._cond:
            if not self._acks:
                self._acks_since = time.monotonic()
            for row in rows:
                self._acks.add((row.lane, row.sequence))
                self._stats["acked"] += 1
            if len(self._acks) >= self._ack_batch:
                self._cond.notify_all()

    def wait_for_rows(self, timeout: float) -> bool:
        """Blocks until a commit stored new rows (or ``timeout``)."""
        fired = self._rows_event.wait(timeout)
        self._rows_event.clear()
        return fired

    def pending(self) -> int:
        """Rows stored and not yet acknowledged-and-deleted."""
        return self._total()

    def _total(self) -> int:
        return sum(self._counts.values())

    # --- the writer ------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.0
        while True:
            events, acks, drops, stop = self._take()
            if stop and not events and not acks and not drops:
                break
            try:
                deferred = self._store(events, acks, drops)
            except sqlite3.Error as exc:
                self._give_back(events, acks, drops)
                backoff = self._on_db_error(exc, backoff)
                if self._closing and backoff:
                    break
                continue
            except Exception:  # NB: a bug here must not kill the only thread that stores events
                _LOGGER.exception("outbox writer failed; retrying")
                self._give_back(events, acks, drops)
                backoff = min(max(backoff * 2, 0.1), BACKOFF_MAX_S)
                self._sleep(backoff)
                continue
            if backoff:
                self._on_recovered()
            backoff = 0.0
            if deferred:
                if stop:
                    _LOGGER.error(
                        "outbox closing with %d undroppable events unstored", len(deferred)
                    )
                    break
                self._give_back(deferred, set(), collections.Counter())
                self._sleep(0.05)  # NB: nothing can leave until the broker acks; do not spin
            self._maybe_scrub()
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    def _take(
        self,
    ) -> tuple[list[Event], set[tuple[Lane, int]], collections.Counter[tuple[Lane, str]], bool]:
        with self._cond:
            self._busy = False
            self._held = 0
            self._cond.notify_all()
            idle_until = time.monotonic() + 1.0
            while True:
                now = time.monotonic()
                if self._closing:
                    break
                if len(self._queue) >= self._batch or len(self._acks) >= self._ack_batch:
                    break
                waits = []
                if self._queue:
                    waits.append(self._queue[0][0] + self._window - now)
                if self._acks:
                    waits.append(self._acks_since + self._ack_window - now)
                if self._unsequenced or self._scrub_requested:
                    waits.append(0.0)
                if not waits:
                    if now >= idle_until:
                        break  # NB: periodic pass so a pending scrub is checked when idle
                    waits.append(idle_until - now)
                wait = min(waits)
                if wait <= 0:
                    break
                self._cond.wait(wait)
            events = [self._queue.popleft()[1] for _ in range(min(self._batch, len(self._queue)))]
            acks, self._acks = self._acks, set()
            drops, self._unsequenced = self._unsequenced, collections.Counter()
            self._busy = bool(events or acks or drops)
            self._held = len(events)
            self._cond.notify_all()
            return events, acks, drops, self._closing

    def _give_back(
        self,
        events: list[Event],
        acks: set[tuple[Lane, int]],
        drops: collections.Counter[tuple[Lane, str]],
    ) -> None:
        with self._cond:
            now = time.monotonic()
            for event in reversed(events):
                self._queue.appendleft((now, event))
            self._held = 0
            self._acks |= acks
            self._unsequenced.update(drops)

    def _sleep(self, seconds: float) -> None:
        with self._cond:
            if not self._closing:
                self._cond.wait(seconds)

    def _store(
        self,
        events: list[Event],
        acks: set[tuple[Lane, int]],
        drops: collections.Counter[tuple[Lane, str]],
    ) -> list[Event]:
        """One transaction: deletes, drops, inserts, the dropped report. Returns deferred events."""
        if not events and not acks and not drops and not self._scrub_requested:
            return []
        accepted, deferred, plan = self._fit(events, drops)
        with self._db_lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                deleted = self._delete_acked(conn, acks)
                reports, dropped_rows = self._drop_rows(conn, plan, drops)
                for lane, count in dropped_rows.items():
                    deleted[lane] += count
                rows_by_lane, committed = self._insert(conn, [*accepted, *reports])
                next_seq = self._next + len(committed)
                if next_seq >= self._floor_value:
                    # NB: the floor is raised (fsynced) before any sequence reaches it
                    self._floor_value = next_seq + db.SEQUENCE_BLOCK
                    self._floor.write(self._floor_value)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'next_sequence'", (next_seq,))
                scrub = self._scrub_requested
                if scrub:
                    self._watermark = max(self._watermark, next_seq - 1)
                    conn.execute(
                        "UPDATE meta SET value = ? WHERE key = 'scrub_watermark'",
                        (self._watermark,),
                    )
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            self._next = next_seq
            for lane in db.LANES:
                self._counts[lane] -= deleted[lane]
            for lane, rows in rows_by_lane.items():
                self._counts[lane] += len(rows)
        with self._cond:
            if scrub:
                self._scrub_requested = False
            self._stats["committed"] += len(committed)
            self._stats["commits"] += 1
        if committed:
            self._rows_event.set()
            if self._on_commit is not None:
                self._on_commit(committed)
        return deferred

    @staticmethod
    def _delete_acked(conn: sqlite3.Connection, acks: set[tuple[Lane, int]]) -> dict[Lane, int]:
        by_lane: dict[Lane, list[tuple[int]]] = collections.defaultdict(list)
        for lane, seq in acks:
            by_lane[lane].append((seq,))
        deleted = dict.fromkeys(db.LANES, 0)
        for lane, keys in by_lane.items():
            before = conn.total_changes
            conn.executemany(db.DELETE_ONE[lane], keys)
            deleted[lane] += conn.total_changes - before
        return deleted

    def _insert(
        self, conn: sqlite3.Connection, events: list[Event]
    ) -> tuple[dict[Lane, list[tuple[int, bytes]]], list[Committed]]:
        """Seals and stores ``events`` with the next sequences, in decision order."""
        rows_by_lane: dict[Lane, list[tuple[int, bytes]]] = collections.defaultdict(list)
        committed: list[Committed] = []
        seq = self._next
        for event in events:
            rows_by_lane[event.lane].append((seq, event.seal(self.source, seq)))
            committed.append(Committed(seq, event.id, event.type))
            seq += 1
        for lane, rows in rows_by_lane.items():
            conn.executemany(db.INSERT[lane], rows)
        return rows_by_lane, committed

    def _fit(
        self, events: list[Event], drops: collections.Counter[tuple[Lane, str]]
    ) -> tuple[list[Event], list[Event], dict[Lane, int]]:
        """Decides which events fit, which stored rows must go for them, which wait."""
        room = self._capacity - self._total()
        left = {lane: self._counts[lane] for lane in DROPPABLE}
        plan: dict[Lane, int] = collections.Counter()
        accepted: list[Event] = []
        deferred: list[Event] = []
        chunk = max(1, self._capacity // 100)
        for event in events:
            if deferred and not event.lane.may_drop:
                deferred.append(event)  # NB: keeps the undroppable events in decision order
                continue
            if room <= 0:
                for lane in DROPPABLE:
                    if lane >= event.lane and left[lane] > 0:
                        take = min(chunk, left[lane])
                        left[lane] -= take
                        plan[lane] += take
                        room += take
                        break
            if room > 0:
                accepted.append(event)
                room -= 1
            elif event.lane.may_drop:
                drops[(event.lane, "outbox_full")] += 1
            else:
                deferred.append(event)
        return accepted, deferred, plan

    def _drop_rows(
        self,
        conn: sqlite3.Connection,
        plan: dict[Lane, int],
        drops: collections.Counter[tuple[Lane, str]],
    ) -> tuple[list[Event], dict[Lane, int]]:
        """Deletes the planned oldest rows; returns the ``dropped`` reports and counts."""
        sequences: dict[tuple[Lane, str], list[int]] = collections.defaultdict(list)
        counts: dict[Lane, int] = {}
        for lane, count in plan.items():
            seqs = [r[0] for r in conn.execute(db.SELECT_OLDEST[lane], (count,))]
            if seqs:
                conn.execute(db.DELETE_UPTO[lane], (seqs[-1],))
                counts[lane] = len(seqs)
                sequences[(lane, "outbox_full")].extend(seqs)
        keys = set(sequences) | set(drops)
        reports: list[Event] = []
        now = self._wall()
        for lane, reason in sorted(keys):
            seqs = sequences.get((lane, reason), [])
            unsequenced = drops.get((lane, reason), 0)
            spans = db.ranges(seqs)
            name = lane.name.lower()
            self._dropped[f"{name}.{reason}"] += len(seqs) + unsequenced
            _LOGGER.warning(
                "outbox dropped %d %s events (%s), %d of them stored",
                len(seqs) + unsequenced,
                name,
                reason,
                len(seqs),
            )
            for start in range(0, max(len(spans), 1), MAX_RANGES_PER_EVENT):
                part = spans[start : start + MAX_RANGES_PER_EVENT]
                stored = sum(b - a + 1 for a, b in part)
                count = stored + (unsequenced if start == 0 else 0)
                data = {"lane": name, "count": count, "reason": reason, "sequences": part}
                reports.append(self._factory.make("storeedge.edge.dropped", data, now))
        return reports, counts

    # --- failures --------------------------------------------------------------------------

    def _on_db_error(self, exc: sqlite3.Error, backoff: float) -> float:
        if db.is_full(exc):
            if self._disk_full_since is None:
                self._disk_full_since = self._wall()
                _LOGGER.error("outbox: disk full (%s); holding events in memory", exc)
                # NB: queued now (critical lane), written as soon as the disk takes it again.
                alert_id = self.emit_alert("outbox_disk_full", {"detail": str(exc)})
                self._raise_alert("outbox_disk_full", str(exc), alert_id)
            self._stats["disk_full_retries"] += 1
        elif db.is_corrupt(exc):
            self._stats["corrupt_at_runtime"] += 1
            with self._db_lock, self._read_lock:
                for conn in (self._conn, self._reader):
                    with contextlib.suppress(sqlite3.Error):
                        conn.close()
                self._conn = self._replace_corrupt(str(exc), self._next)
                self._reader = db.open_reader(self.path)
                self._cursors = dict.fromkeys(db.LANES, 0)
            return 0.0
        else:
            _LOGGER.error("outbox write failed: %s; retrying", exc)
            self._stats["write_errors"] += 1
        backoff = min(max(backoff * 2, 0.1), BACKOFF_MAX_S)
        self._sleep(backoff)
        return backoff

    def _on_recovered(self) -> None:
        if self._disk_full_since is not None:
            since = self._disk_full_since
            self._disk_full_since = None
            _LOGGER.warning("outbox: disk writable again")
            self.emit_alert("outbox_disk_full", {"detail": "disk was full", "since_unix": since})

    # --- erasure scrub ---------------------------------------------------------------------

    def _maybe_scrub(self) -> None:
        if self._watermark <= 0:
            return
        with self._db_lock, self._read_lock:  # NB: no reader may hold old pages meanwhile
            conn = self._conn
            for lane in db.LANES:
                low = conn.execute(db.MIN_SEQ[lane]).fetchone()[0]
                if low is not None and low <= self._watermark:
                    return
            try:
                conn.execute("UPDATE meta SET value = 0 WHERE key = 'scrub_watermark'")
                # NB: VACUUM rebuilds every page, so deleted cells and free pages are gone;
                # the TRUNCATE checkpoint then empties the WAL that held the old pages.
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error as exc:
                _LOGGER.warning("outbox scrub failed (retried later): %s", exc)
                return
            self._watermark = 0
            self._stats["scrubs"] += 1
            _LOGGER.info("outbox scrubbed after an erasure")

    # --- lifecycle and health --------------------------------------------------------------

    def close(self, timeout: float = 5.0) -> None:
        """Commits what is queued (bounded by ``timeout``) and closes the database."""
        with self._cond:
            if self._closed:
                return
            self._closing = True
            self._cond.notify_all()
        self._writer.join(timeout)
        if self._writer.is_alive():
            _LOGGER.error("outbox writer did not finish within %.1f s", timeout)
        with self._db_lock, self._read_lock:
            self._reader.close()
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            self._conn.close()
        with self._cond:
            self._closed = True
            lost = len(self._queue)
        if lost:
            _LOGGER.error("outbox closed with %d events not stored", lost)

    @property
    def next_sequence(self) -> int:
        return self._next

    @property
    def healthy(self) -> bool:
        return self._disk_full_since is None and not self._closing

    def stats(self) -> dict[str, Any]:
        with self._cond:
            queued = len(self._queue)
            counters = dict(self._stats)
            dropped = dict(self._dropped)
        return {
            "pending": {lane.name.lower(): self._counts[lane] for lane in db.LANES},
            "pending_total": self._total(),
            "queued": queued,
            "next_sequence": self._next,
            "dropped": dropped,
            "disk_full": self._disk_full_since is not None,
            "quarantined": [p.name for p in self.quarantined],
            **counters,
        }
