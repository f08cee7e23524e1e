"""Staff sign-in: a shared store PIN (werkzeug.security hash) plus the staff member's name.

Guessing is bounded three ways, all decided *before* the PIN is hashed, under one lock:

- per address (an IPv6 client counts by its /64): a bucket of ``ADDRESS_BURST`` attempts
  that refills one every ``ADDRESS_REFILL_S``;
- store-wide: a bucket of ``STORE_BURST`` that refills one every ``STORE_REFILL_S``, so
  many addresses together get no more;
- at most ``CONCURRENT_CHECKS`` hashes at a time (scrypt costs about 32 MiB each); a
  request beyond that is refused at once with 429, never queued.

An attempt takes a token from both buckets when it starts; a correct PIN gives them
back. A burst of parallel guesses therefore has exactly the budget of a slow one.

Sessions live server-side (:class:`StaffSessions`): the signed cookie only names one.
Logging out, or restarting the service (which is how a PIN change is applied), ends
it, and the Socket.IO connections it opened are cut.

With no PIN hash configured the console is served only on a loopback bind (the
configuration refuses anything else) and says so in a banner.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, MutableMapping
from collections.abc import Mapping as MappingABC
from typing import Final

from flask import request
from werkzeug.security import check_password_hash

_LOGGER = logging.getLogger(__name__)

MAX_NAME: Final = 32
MAX_PIN: Final = 64
SESSION_KEY: Final = "staff"
SESSION_ID_KEY: Final = "sid"
SESSION_LIFETIME_S: Final = 12 * 3600.0  # one shift, like the cookie
MAX_SESSIONS: Final = 256

ADDRESS_BURST: Final = 5
ADDRESS_REFILL_S: Final = 60.0
STORE_BURST: Final = 10
STORE_REFILL_S: Final = 30.0
CONCURRENT_CHECKS: Final = 2
REFUSAL_LOG_S: Final = 10.0  # refusals are logged as a count, once per this, not each
MAX_ADDRESSES: Final = 4096  # buckets remembered; a full bucket is the same as none


def clean_staff_name(raw: object) -> str | None:
    """A staff name for the records: printable, trimmed, 1..32 characters; else None."""
    if not isinstance(raw, str):
        return None
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME or not name.isprintable():
        return None
    return name


class Verdict(enum.Enum):
    """The outcome of one sign-in attempt: (error key for the page, HTTP status)."""

    OK = ("", 303)
    WRONG = ("wrong", 401)
    LOCKED = ("locked", 429)
    BUSY = ("busy", 429)

    @property
    def error(self) -> str:
        return self.value[0]

    @property
    def status(self) -> int:
        return self.value[1]


class _Bucket:
    """Tokens that refill one per ``refill_s`` up to ``burst``."""

    __slots__ = ("_burst", "_refill_s", "level", "stamp")

    def __init__(self, burst: int, refill_s: float, now: float) -> None:
        self._burst = burst
        self._refill_s = refill_s
        self.level = float(burst)
        self.stamp = now

    def _update(self, now: float) -> None:
        self.level = min(self._burst, self.level + (now - self.stamp) / self._refill_s)
        self.stamp = now

    def has(self, now: float) -> bool:
        self._update(now)
        return self.level >= 1.0

    def take(self) -> None:
        self.level -= 1.0

    def give(self, now: float) -> None:
        self._update(now)
        self.level = min(self._burst, self.level + 1.0)

    def full(self, now: float) -> bool:
        self._update(now)
        return self.level >= self._burst


def client_key(address: str) -> str:
    """Whom a bucket belongs to: the IPv4 address, or the /64 of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class PinGuard:
    """Checks the store PIN within the guessing budget; holds the staff sessions."""

    def __init__(
        self, pin_hash: str | None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._hash = pin_hash
        self._now = monotonic
        self._lock = threading.Lock()
        self._addresses: OrderedDict[str, _Bucket] = OrderedDict()
        self._store = _Bucket(STORE_BURST, STORE_REFILL_S, monotonic())
        self._checks = threading.BoundedSemaphore(CONCURRENT_CHECKS)
        self.counters: dict[str, int] = {"ok": 0, "wrong": 0, "locked": 0, "busy": 0}
        self._next_report = monotonic()
        self._reported = 0
        self.sessions = StaffSessions(monotonic)
        self.broken = pin_hash is not None and not _hash_usable(pin_hash)
        if self.broken:
            # NB: fail closed: a mistyped hash must not open the console.
            _LOGGER.error("web.staff_pin_hash is not a werkzeug.security hash: sign-in disabled")

    @property
    def required(self) -> bool:
        return self._hash is not None

    def locked_out(self, client: str) -> bool:
        """No attempt left for this client (or the store): answer 429 without hashing."""
        now = self._now()
        with self._lock:
            bucket = self._addresses.get(client_key(client))
            spent = not self._store.has(now) or (bucket is not None and not bucket.has(now))
        if spent:
            self._count(Verdict.LOCKED, client)
        return spent

    def check(self, client: str, pin: str) -> Verdict:
        if self._hash is None:
            return Verdict.OK
        if not self._checks.acquire(blocking=False):
            return self._count(Verdict.BUSY, client)
        try:
            bucket = self._charge(client)
            if bucket is None:
                return self._count(Verdict.LOCKED, client)
            ok = not self.broken and len(pin) <= MAX_PIN and check_password_hash(self._hash, pin)
            if ok:
                with self._lock:
                    now = self._now()
                    bucket.give(now)
                    self._store.give(now)
        finally:
            self._checks.release()
        return self._count(Verdict.OK if ok else Verdict.WRONG, client)

    def _charge(self, client: str) -> _Bucket | None:
        """Take one attempt from the client's and the store's budgets, or None if spent."""
        now = self._now()
        key = client_key(client)
        with self._lock:
            bucket = self._addresses.pop(key, None) or _Bucket(ADDRESS_BURST, ADDRESS_REFILL_S, now)
            self._forget_full(now)
            self._addresses[key] = bucket  # NB: most recently used last
            if not bucket.has(now) or not self._store.has(now):
                return None
            bucket.take()
            self._store.take()
            return bucket

    def _forget_full(self, now: float) -> None:
        while len(self._addresses) > MAX_ADDRESSES:
            oldest = next(iter(self._addresses))
            self._addresses.pop(oldest)
        for key in [k for k, b in list(self._addresses.items())[:8] if b.full(now)]:
            self._addresses.pop(key, None)

    def _count(self, verdict: Verdict, client: str) -> Verdict:
        now = self._now()
        with self._lock:
            self.counters[verdict.name.lower()] += 1
            refused = self.counters["locked"] + self.counters["busy"]
            report = verdict in (Verdict.LOCKED, Verdict.BUSY) and now >= self._next_report
            if report:
                self._next_report = now + REFUSAL_LOG_S
                since, self._reported = refused - self._reported, refused
        if verdict is Verdict.WRONG:  # NB: at most the budget's few a minute
            _LOGGER.warning("failed staff sign-in from %s", client)
        elif report:
            _LOGGER.warning(
                "staff sign-in refused (%s, latest from %s): %d refusal(s) since the last report",
                "too many attempts" if verdict is Verdict.LOCKED else "another check running",
                client,
                since,
            )
        return verdict


class StaffSessions:
    """Signed-in staff, server-side: a cookie is worth only what is recorded here."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self.lifetime_s = SESSION_LIFETIME_S  # NB: the factory sets [web] staff_shift_h
        self._lock = threading.Lock()
        self._open: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._sockets: dict[str, set[str]] = {}
        # Set by the server: cuts one Socket.IO connection of the staff namespace.
        self.disconnect: Callable[[str], None] = lambda _sid: None

    def open(self, session: MutableMapping[str, object], name: str) -> None:
        session.clear()
        sid = secrets.token_urlsafe(18)
        session[SESSION_KEY] = name
        session[SESSION_ID_KEY] = sid
        with self._lock:
            self._open[sid] = (name, self._now() + self.lifetime_s)
            while len(self._open) > MAX_SESSIONS:
                oldest, _ = self._open.popitem(last=False)
                self._sockets.pop(oldest, None)

    def name_of(self, session: MappingABC[str, object]) -> str | None:
        sid = session.get(SESSION_ID_KEY)
        if not isinstance(sid, str):
            return None
        with self._lock:
            entry = self._open.get(sid)
        if entry is None or entry[1] < self._now():
            return None
        return entry[0] if entry[0] == clean_staff_name(session.get(SESSION_KEY)) else None

    def track_socket(self, session: MappingABC[str, object], socket_sid: str) -> bool:
        """Remember which session opened this staff socket, so revoking it cuts it."""
        sid = session.get(SESSION_ID_KEY)
        if not isinstance(sid, str) or self.name_of(session) is None:
            return False
        with self._lock:
            self._sockets.setdefault(sid, set()).add(socket_sid)
        return True

    def forget_socket(self, socket_sid: str) -> None:
        with self._lock:
            for sockets in self._sockets.values():
                sockets.discard(socket_sid)

    def revoke(self, session: MutableMapping[str, object]) -> None:
        sid = session.get(SESSION_ID_KEY)
        session.clear()
        if isinstance(sid, str):
            self._end([sid])

    def revoke_all(self) -> None:
        with self._lock:
            sids = list(self._open)
        self._end(sids)

    def _end(self, sids: Iterable[str]) -> None:
        cut: list[str] = []
        with self._lock:
            for sid in sids:
                self._open.pop(sid, None)
                cut.extend(self._sockets.pop(sid, ()))
        for socket_sid in cut:
            try:
                self.disconnect(socket_sid)
            except Exception:  # NB: a connection already gone must not stop the others
                _LOGGER.debug("cutting a revoked staff socket failed", exc_info=True)
        if cut:
            _LOGGER.info("staff session ended: %d open console(s) disconnected", len(cut))


def _hash_usable(pin_hash: str) -> bool:
    if len(pin_hash.split("$", 2)) != 3:  # method$salt$hash
        return False
    try:
        check_password_hash(pin_hash, "")
    except (ValueError, TypeError):
        return False
    return True


def signed_in_name(session: MappingABC[str, object], guard: PinGuard) -> str | None:
    """The staff name of this session when the console requires sign-in and it is open."""
    if not guard.required:
        return None
    return guard.sessions.name_of(session)


def is_loopback_client() -> bool:
    """The request came from this machine (after any trusted proxy was accounted for)."""
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def may_see_details(session: MappingABC[str, object], guard: PinGuard) -> bool:
    """``/healthz`` details: for this machine and for signed-in staff, not the network."""
    return is_loopback_client() or signed_in_name(session, guard) is not None
