"""The local cache: what central told this store, kept in SQLite so the store works offline.

Customer profiles, catalog products, the commands inbox and the configuration
pushed by command. Every change is one transaction: applied whole or not at all.

Erasure (:meth:`LocalCache.erase_customer`) removes the profile and every
inbox row that names the customer, then leaves no trace in the file:
``secure_delete`` zeroes deleted cells and freed pages, ``VACUUM`` rebuilds the
pages that moved during rebalancing, and a TRUNCATE checkpoint empties the WAL
that held the old page images.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any, Final, Literal

from storeedge.core.events import encode_json
from storeedge.core.profiles import CustomerProfile, ProfileError, parse_profile

_LOGGER = logging.getLogger(__name__)

INBOX_KEEP_S: Final = 7 * 24 * 3600.0  # how long a finished command's id still dedupes

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS profiles (customer_id TEXT PRIMARY KEY, body BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS products (sku TEXT PRIMARY KEY, body BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS inbox (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " received REAL NOT NULL, expires REAL, state TEXT NOT NULL, payload BLOB, reply BLOB)",
    "CREATE TABLE IF NOT EXISTS config (slot INTEGER PRIMARY KEY CHECK (slot = 1),"
    " version INTEGER NOT NULL, body BLOB NOT NULL)",
)

InboxState = Literal["pending", "done", "expired"]


class LocalCache:
    """SQLite cache of profiles, products, commands and pushed config. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL").fetchone()
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA secure_delete=ON")
        self._conn.execute("PRAGMA temp_store=MEMORY")  # NB: no temp file may keep erased bytes
        with self._transaction():
            for statement in _SCHEMA:
                self._conn.execute(statement)

    def _transaction(self) -> _Tx:
        return _Tx(self._conn, self._lock)

    # --- profiles --------------------------------------------------------------------------

    def put_profile(self, raw: dict[str, Any]) -> CustomerProfile:
        """Validates and stores a profile (replacing any older one); raises ProfileError."""
        profile = parse_profile(raw)
        body = encode_json(raw)
        with self._transaction():
            self._conn.execute(
                "INSERT INTO profiles VALUES (?, ?)"
                " ON CONFLICT(customer_id) DO UPDATE SET body = excluded.body",
                (profile.customer_id, body),
            )
        return profile

    def profiles(self) -> list[CustomerProfile]:
        with self._lock:
            rows = self._conn.execute("SELECT customer_id, body FROM profiles").fetchall()
        out = []
        for customer_id, body in rows:
            try:
                out.append(parse_profile(json.loads(body)))
            except (ProfileError, ValueError):
                _LOGGER.warning("cached profile %s no longer valid; ignored", customer_id[:4])
        return out

    def profile_ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT customer_id FROM profiles")]

    def erase_customer(self, customer_id: str) -> int:
        """Removes everything cached about the customer and scrubs the file. Returns rows gone."""
        with self._lock:
            with self._transaction():
                gone = self._conn.execute(
                    "DELETE FROM profiles WHERE customer_id = ?", (customer_id,)
                ).rowcount
                needle = customer_id.encode()
                gone += self._conn.execute(
                    "DELETE FROM inbox WHERE instr(payload, ?) > 0 OR instr(reply, ?) > 0",
                    (needle, needle),
                ).rowcount
            self.scrub()
        return gone

    def scrub(self) -> None:
        """Rebuilds the file and empties the WAL so deleted bytes are gone from disk files."""
        with self._lock:
            self._conn.execute("VACUUM")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    # --- catalog ---------------------------------------------------------------------------

    def put_product(self, sku: str, product: dict[str, Any] | None) -> None:
        """Stores a validated product, or removes it when ``product`` is None."""
        with self._transaction():
            if product is None:
                self._conn.execute("DELETE FROM products WHERE sku = ?", (sku,))
            else:
                self._conn.execute(
                    "INSERT INTO products VALUES (?, ?)"
                    " ON CONFLICT(sku) DO UPDATE SET body = excluded.body",
                    (sku, encode_json(product)),
                )

    def product(self, sku: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT body FROM products WHERE sku = ?", (sku,)).fetchone()
        if row is None:
            return None
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None

    def products(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT sku, body FROM products").fetchall()
        return {sku: json.loads(body) for sku, body in rows}

    # --- commands inbox --------------------------------------------------------------------

    def inbox_record(
        self,
        command_id: str,
        name: str,
        payload: bytes,
        received: float,
        expires: float | None,
        state: InboxState,
    ) -> tuple[bool, InboxState, bytes | None]:
        """Records a command once. Returns (new, state, stored reply) for its id."""
        with self._transaction():
            row = self._conn.execute(
                "SELECT state, reply FROM inbox WHERE id = ?", (command_id,)
            ).fetchone()
            if row is not None:
                return False, row[0], row[1]
            self._conn.execute(
                "INSERT INTO inbox VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (
                    command_id,
                    name,
                    received,
                    expires,
                    state,
                    payload if state == "pending" else None,
                ),
            )
        return True, state, None

    def inbox_done(self, command_id: str, reply: bytes | None) -> None:
        """The command ran: keep its id (dedupe) and reply, drop its payload."""
        with self._transaction():
            self._conn.execute(
                "UPDATE inbox SET state = 'done', payload = NULL, reply = ? WHERE id = ?",
                (reply, command_id),
            )

    def inbox_pending(self) -> list[tuple[str, str, bytes]]:
        """Commands committed but not finished (a crash in between): id, name, payload."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, name, payload FROM inbox WHERE state = 'pending' ORDER BY received"
            ).fetchall()
        return [(r[0], r[1], bytes(r[2])) for r in rows]

    def inbox_prune(self, now: float) -> int:
        with self._transaction():
            return int(
                self._conn.execute(
                    "DELETE FROM inbox WHERE state != 'pending' AND received < ?",
                    (now - INBOX_KEEP_S,),
                ).rowcount
            )

    # --- configuration pushed by command ---------------------------------------------------

    def apply_config(self, version: int, settings: dict[str, Any]) -> bool:
        """Stores pushed settings only if ``version`` is newer than the stored one."""
        with self._transaction():
            row = self._conn.execute("SELECT version FROM config WHERE slot = 1").fetchone()
            if row is not None and row[0] >= version:
                return False
            self._conn.execute(
                "INSERT INTO config VALUES (1, ?, ?)"
                " ON CONFLICT(slot) DO UPDATE SET version = excluded.version, body = excluded.body",
                (version, encode_json(settings)),
            )
        return True

    def config(self) -> tuple[int, dict[str, Any]] | None:
        with self._lock:
            row = self._conn.execute("SELECT version, body FROM config WHERE slot = 1").fetchone()
        return None if row is None else (int(row[0]), json.loads(row[1]))

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error as exc:
                _LOGGER.warning("cache checkpoint at close failed: %s", exc)
            self._conn.close()


class _Tx:
    """``BEGIN IMMEDIATE`` .. ``COMMIT`` under the cache lock; rolls back on any error."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self._conn = conn
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self._conn.execute("COMMIT")
            else:
                self._conn.execute("ROLLBACK")
        finally:
            self._lock.release()
