"""The visits open now, on disk, so that a stop of any kind closes them exactly once.

A clean stop departs every open visit itself (``reason: "edge_stopped"``) and the
journal ends empty. After a crash or ``kill -9`` the rows left here are departed
at the next start (``reason: "edge_restarted"``), dwell counted to the row's last
update, so every ``arrived`` still gets its one ``departed``.

Privacy: a row holds a customer id while that customer is in the store; an
erasure deletes it before the erasure is acknowledged.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from storeedge.core.ports import OpenVisit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS open_visit (
    visit_id    TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    started_at  REAL NOT NULL,
    zone        TEXT NOT NULL,
    updated_at  REAL NOT NULL
)
"""


class SqliteVisitJournal:
    def __init__(self, path: Path) -> None:
        # NB: used from the core thread only, but opened on the main thread at start.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def opened(self, visit: OpenVisit) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO open_visit VALUES (?, ?, ?, ?, ?)",
                (visit.visit_id, visit.customer_id, visit.started_at, visit.zone, visit.updated_at),
            )

    def closed(self, visit_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM open_visit WHERE visit_id = ?", (visit_id,))

    def left_open(self) -> list[OpenVisit]:
        with self._lock:
            rows = self._db.execute(
                "SELECT visit_id, customer_id, started_at, zone, updated_at FROM open_visit"
                " ORDER BY started_at"
            ).fetchall()
        return [OpenVisit(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
