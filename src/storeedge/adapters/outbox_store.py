"""The outbox's database side: the storing transaction, the publisher's reads, the scrub.

One writer connection (used by the writer thread only) and one read-only
connection for the publisher, so a group commit's fsync never stalls the
in-flight window (WAL readers do not wait for the writer). Every storing
transaction deletes acknowledged rows, applies the drop policy
(:mod:`storeedge.adapters.outbox_lanes`), assigns sequences and inserts the
sealed bytes, all or nothing.

A corrupt database is renamed aside, never deleted; a fresh one continues the
sequence (see :mod:`storeedge.adapters.outbox_db`).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Container
from dataclasses import dataclass
from pathlib import Path

from storeedge.adapters import outbox_db as db
from storeedge.adapters import outbox_lanes as lanes
from storeedge.adapters.outbox_intake import Ack, DropCounts
from storeedge.core.events import Event, EventFactory, Lane

_LOGGER = logging.getLogger(__name__)


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


OnCorrupt = Callable[[str, Path], None]  # (detail, the file moved aside)


class OutboxStore:
    """The SQLite file of one outbox: written by one thread, read by another."""

    def __init__(
        self,
        path: Path,
        source: str,
        *,
        synchronous: str,
        max_pages: int | None,
        page_size: int,
        on_corrupt: OnCorrupt,
    ) -> None:
        self.path = path
        self.source = source
        self._synchronous = synchronous
        self._max_pages = max_pages
        self._page_size = page_size
        self._on_corrupt = on_corrupt
        self._floor = db.SequenceFloor(path.with_name(path.name + ".seq"))
        self._floor_value = 0
        self.next = 1
        self._watermark = 0
        self.quarantined: list[Path] = []
        self._db_lock = threading.RLock()
        self.counts = dict.fromkeys(db.LANES, 0)
        self._cursors = dict.fromkeys(db.LANES, 0)
        self._conn = self._open()
        self._read_lock = threading.Lock()
        self._reader = db.open_reader(self.path)

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
        self.next = int(row[0])
        row = conn.execute("SELECT value FROM meta WHERE key = 'scrub_watermark'").fetchone()
        self._watermark = int(row[0])
        for lane in db.LANES:
            self.counts[lane] = conn.execute(db.COUNT[lane]).fetchone()[0]
        self._floor_value = self._floor.read()
        if self._floor_value > self.next and self.total() == 0 and self.next == 1:
            # NB: a database file that was removed or replaced: never reuse a sequence.
            self.next = self._floor_value
            conn.execute("UPDATE meta SET value = ? WHERE key = 'next_sequence'", (self.next,))

    def _replace_corrupt(self, reason: str, known_next: int) -> sqlite3.Connection:
        salvaged = db.salvage_next_sequence(self.path)
        aside = db.quarantine(self.path)
        self.quarantined.append(aside)
        conn = db.connect(self.path, self._synchronous, self._max_pages, self._page_size)
        self._load_state(conn)
        restart = max(self.next, salvaged, self._floor.read(), known_next, 1)
        self.next = restart
        conn.execute("UPDATE meta SET value = ? WHERE key = 'next_sequence'", (restart,))
        self._on_corrupt(
            f"outbox database was corrupt ({reason}); moved aside to {aside.name}", aside
        )
        return conn

    def replace_corrupt_now(self, reason: str) -> None:
        """Corruption found while running: a fresh file, both connections reopened."""
        with self._db_lock, self._read_lock:
            for conn in (self._conn, self._reader):
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._conn = self._replace_corrupt(reason, self.next)
            self._reader = db.open_reader(self.path)
            self._cursors = dict.fromkeys(db.LANES, 0)

    def total(self) -> int:
        return sum(self.counts.values())

    # --- the writer's transaction ----------------------------------------------------------

    def write(
        self,
        events: list[Event],
        acks: set[Ack],
        drops: DropCounts,
        *,
        scrub: bool,
        capacity: int,
        factory: EventFactory,
        now: float,
        tally: collections.Counter[str],
    ) -> tuple[list[Event], list[Committed]]:
        """One transaction: deletes, drops, inserts, the dropped report; with ``scrub`` the
        watermark too. Returns ``(deferred events, committed)``; raises sqlite3.Error."""
        accepted, deferred, plan = lanes.fit(events, drops, capacity, self.counts)
        with self._db_lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                deleted = self._delete_acked(conn, acks)
                reports, dropped_rows = lanes.drop_rows(conn, plan, drops, factory, now, tally)
                for lane, count in dropped_rows.items():
                    deleted[lane] += count
                rows_by_lane, committed = self._insert(conn, [*accepted, *reports])
                next_seq = self.next + len(committed)
                if next_seq >= self._floor_value:
                    # NB: the floor is raised (fsynced) before any sequence reaches it
                    self._floor_value = next_seq + db.SEQUENCE_BLOCK
                    self._floor.write(self._floor_value)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'next_sequence'", (next_seq,))
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
            self.next = next_seq
            for lane in db.LANES:
                self.counts[lane] -= deleted[lane]
            for lane, rows in rows_by_lane.items():
                self.counts[lane] += len(rows)
        return deferred, committed

    @staticmethod
    def _delete_acked(conn: sqlite3.Connection, acks: set[Ack]) -> dict[Lane, int]:
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
        seq = self.next
        for event in events:
            rows_by_lane[event.lane].append((seq, event.seal(self.source, seq)))
            committed.append(Committed(seq, event.id, event.type))
            seq += 1
        for lane, rows in rows_by_lane.items():
            conn.executemany(db.INSERT[lane], rows)
        return rows_by_lane, committed

    # --- the publisher's reads -------------------------------------------------------------

    def fetch(self, limit: int, acked: Container[Ack]) -> list[OutboxRow]:
        """The next rows not handed out yet, most urgent lane first, oldest first in a lane."""
        out: list[OutboxRow] = []
        with self._read_lock:
            for lane in db.LANES:
                want = limit - len(out)
                if want <= 0:
                    break
                if self.counts[lane] == 0:
                    continue
                rows = self._reader.execute(
                    db.SELECT_AFTER[lane],
                    (self._cursors[lane], want),
                ).fetchall()
                for seq, payload in rows:
                    self._cursors[lane] = seq
                    if (lane, seq) not in acked:
                        out.append(OutboxRow(seq, lane, bytes(payload)))
        return out

    def rewind(self) -> None:
        with self._read_lock:
            self._cursors = dict.fromkeys(db.LANES, 0)

    # --- erasure scrub ---------------------------------------------------------------------

    def scrub_if_due(self) -> bool:
        """Rebuilds the file once every row up to the watermark has left; True if it did."""
        if self._watermark <= 0:
            return False
        with self._db_lock, self._read_lock:  # NB: no reader may hold old pages meanwhile
            conn = self._conn
            for lane in db.LANES:
                low = conn.execute(db.MIN_SEQ[lane]).fetchone()[0]
                if low is not None and low <= self._watermark:
                    return False
            try:
                conn.execute("UPDATE meta SET value = 0 WHERE key = 'scrub_watermark'")
                # NB: VACUUM rebuilds every page, so deleted cells and free pages are gone;
                # the TRUNCATE checkpoint then empties the WAL that held the old pages.
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error as exc:
                _LOGGER.warning("outbox scrub failed (retried later): %s", exc)
                return False
            self._watermark = 0
        _LOGGER.info("outbox scrubbed after an erasure")
        return True

    # --- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._db_lock, self._read_lock:
            self._reader.close()
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            self._conn.close()
