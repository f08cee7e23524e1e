"""Staff sign-in: a shared store PIN (werkzeug.security hash) plus the staff member's name.

With no PIN hash configured the console is open to anyone on the store network,
and the console says so in a banner instead of pretending otherwise. The name a
staff member gives is what claims and resolutions are recorded under.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Final

from werkzeug.security import check_password_hash

_LOGGER = logging.getLogger(__name__)

MAX_NAME: Final = 32
MAX_PIN: Final = 64
MAX_FAILURES: Final = 5
LOCKOUT_S: Final = 60.0
SESSION_KEY: Final = "staff"


def clean_staff_name(raw: object) -> str | None:
    """A staff name for the records: printable, trimmed, 1..32 characters; else None."""
    if not isinstance(raw, str):
        return None
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME or not name.isprintable():
        return None
    return name


class PinGuard:
    """Checks the store PIN and slows down guessing (per client address)."""

    def __init__(self, pin_hash: str | None) -> None:
        self._hash = pin_hash
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}
        self.broken = pin_hash is not None and not _hash_usable(pin_hash)
        if self.broken:
            # NB: fail closed: a mistyped hash must not open the console.
            _LOGGER.error("web.staff_pin_hash is not a werkzeug.security hash: sign-in disabled")

    @property
    def required(self) -> bool:
        return self._hash is not None

    def locked_out(self, client: str) -> bool:
        with self._lock:
            count, since = self._failures.get(client, (0, 0.0))
            if count >= MAX_FAILURES and time.monotonic() - since < LOCKOUT_S:
                return True
            if count >= MAX_FAILURES:
                self._failures.pop(client, None)
            return False

    def check(self, client: str, pin: str) -> bool:
        if self._hash is None:
            return True
        ok = not self.broken and len(pin) <= MAX_PIN and check_password_hash(self._hash, pin)
        with self._lock:
            if ok:
                self._failures.pop(client, None)
            else:
                count, _ = self._failures.get(client, (0, 0.0))
                self._failures[client] = (count + 1, time.monotonic())
        if not ok:
            _LOGGER.warning("failed staff sign-in from %s", client)
        return ok


def _hash_usable(pin_hash: str) -> bool:
    if len(pin_hash.split("$", 2)) != 3:  # method$salt$hash
        return False
    try:
        check_password_hash(pin_hash, "")
    except (ValueError, TypeError):
        return False
    return True


def signed_in_name(session: Mapping[str, object], guard: PinGuard) -> str | None:
    """The staff name of this session when the console requires sign-in and it was done."""
    if not guard.required:
        return None
    return clean_staff_name(session.get(SESSION_KEY))
