"""The outbox's SQLite file: schema, opening, quarantine of a corrupt file, the sequence floor.

One table per lane (``lane_0`` .. ``lane_3``) keyed by the event's ``sequence``
as the rowid: inserts append to the right edge of one b-tree and acknowledged
rows leave from its left edge, with no secondary index to keep up to date.
The sealed bytes are stored as they will go on the wire.

NB: the sequence must never be reused, even when the database is lost. Besides
``meta.next_sequence`` (updated in every storing transaction) a small sidecar
file, ``<db>.seq``, holds a *floor*: a value the sequence has never reached,
rewritten (atomically, fsynced) every :data:`SEQUENCE_BLOCK` events. A fresh
database after a corrupt one starts from the floor, so central sees a gap (the
events lost with the corrupt file) and never two events with one sequence.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Final

from storeedge.core.events import Lane

_LOGGER = logging.getLogger(__name__)

SEQUENCE_BLOCK: Final = 10_000
PAGE_SIZE: Final = 4096
LANES: Final = tuple(Lane)
CORRUPT_CODES: Final = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
FULL_CODES: Final = frozenset({sqlite3.SQLITE_FULL})


def table(lane: Lane) -> str:
    return f"lane_{int(lane)}"


def _per_lane(template: str) -> dict[Lane, str]:
    """One statement per lane table (the names come from the Lane enum, never from input)."""
    return {lane: template.format(table=table(lane)) for lane in LANES}


COUNT: Final = _per_lane("SELECT count(*) FROM {table}")
MIN_SEQ: Final = _per_lane("SELECT min(seq) FROM {table}")
MAX_SEQ: Final = _per_lane("SELECT max(seq) FROM {table}")
SELECT_AFTER: Final = _per_lane(
    "SELECT seq, payload FROM {table} WHERE seq > ? ORDER BY seq LIMIT ?"
)
SELECT_OLDEST: Final = _per_lane("SELECT seq FROM {table} ORDER BY seq LIMIT ?")
DELETE_ONE: Final = _per_lane("DELETE FROM {table} WHERE seq = ?")
DELETE_UPTO: Final = _per_lane("DELETE FROM {table} WHERE seq <= ?")
INSERT: Final = _per_lane("INSERT INTO {table} (seq, payload) VALUES (?, ?)")
CREATE: Final = _per_lane(
    "CREATE TABLE IF NOT EXISTS {table} (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL)"
)


class CorruptDatabaseError(sqlite3.DatabaseError):
    """``quick_check`` found damage."""


def is_corrupt(exc: sqlite3.Error) -> bool:
    if isinstance(exc, CorruptDatabaseError):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in CORRUPT_CODES
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def is_full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in FULL_CODES:
        return True
    return "disk is full" in str(exc).lower() or "no space" in str(exc).lower()


class SequenceFloor:
    """The sidecar file that keeps sequences from ever being reused."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> int:
        try:
            return int(self.path.read_text(encoding="ascii").strip() or "0")
        except (OSError, ValueError):
            return 0

    def write(self, value: int) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, f"{value}\n".encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(self.path)
        with contextlib.suppress(OSError):  # NB: directory fsync makes the rename durable
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def _quick_check(conn: sqlite3.Connection) -> None:
    check = conn.execute("PRAGMA quick_check(1)").fetchone()
    if check is None or check[0] != "ok":
        raise CorruptDatabaseError(f"database disk image is malformed: {check}")


def connect(
    path: Path, synchronous: str, max_pages: int | None = None, page_size: int = PAGE_SIZE
) -> sqlite3.Connection:
    """Opens (creating if needed) and checks the database; raises sqlite3.Error if corrupt."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    try:
        conn.execute(f"PRAGMA page_size={int(page_size)}")  # NB: only takes effect on a new file
        conn.execute("PRAGMA journal_mode=WAL").fetchone()
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA temp_store=MEMORY")  # NB: VACUUM must not leave temp files behind
        conn.execute("PRAGMA journal_size_limit=16777216")
        conn.execute(
            "PRAGMA wal_autocheckpoint=4000"
        )  # NB: hot pages reach the file once per 16 MB
        if max_pages is not None:  # tests use this to stand for a full disk
            conn.execute(f"PRAGMA max_page_count={int(max_pages)}")
        _quick_check(conn)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
            " WITHOUT ROWID"
        )
        for lane in LANES:
            conn.execute(CREATE[lane])
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('next_sequence', 1)")
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('scrub_watermark', 0)")
        conn.execute("COMMIT")
    except BaseException:
        conn.close()
        raise
    return conn


def open_reader(path: Path) -> sqlite3.Connection:
    """A second, read-only connection for the publisher."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA query_only=1")
    return conn


def salvage_next_sequence(path: Path) -> int:
    """Best effort: the next sequence recorded in a corrupt file (0 if unreadable)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return 0
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'next_sequence'").fetchone()
        best = int(row[0]) if row else 0
        for lane in LANES:
            with contextlib.suppress(sqlite3.Error):
                top = conn.execute(MAX_SEQ[lane]).fetchone()
                if top and top[0] is not None:
                    best = max(best, int(top[0]) + 1)
    except sqlite3.Error:
        return 0
    finally:
        conn.close()
    return best


def quarantine(path: Path) -> Path:
    """Renames a corrupt database (and its WAL and shm) aside; never deletes it."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    suffix = 0
    while target.exists():
        suffix += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{suffix}")
    for extra in ("", "-wal", "-shm"):
        source = path.with_name(path.name + extra)
        if source.exists():
            source.replace(target.with_name(target.name + extra))
    _LOGGER.error("outbox database %s is corrupt: moved aside to %s", path, target)
    return target


def ranges(sequences: list[int]) -> list[list[int]]:
    """``[3, 4, 5, 9]`` -> ``[[3, 5], [9, 9]]`` (input sorted)."""
    out: list[list[int]] = []
    for seq in sequences:
        if out and out[-1][1] + 1 == seq:
            out[-1][1] = seq
        else:
            out.append([seq, seq])
    return out
