"""Single-use secrets a kiosk shows: pairing nonces, hand-off tokens; and the QR brake.

Pairing (CONTRACTS 5 and 7): each kiosk shows ``HTTPS://{APP_HOST}/K/{KIOSK_ID}/{NONCE}``.
The nonce rotates every :data:`ROTATE_S`; a claim is good for the current nonce, or the
one just before it while it is at most :data:`NONCE_MAX_AGE_S` old, and only once (a
used nonce rotates at once). Hand-off: ``HTTPS://{APP_HOST}/H/{TOKEN}``, a token that
central redeems once (the edge tells it with ``storeedge.kiosk.handoff_issued``).

Only QR alphanumeric characters (upper case, digits), so codes stay small.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

ROTATE_S: Final = 20.0
NONCE_MAX_AGE_S: Final = 30.0
HANDOFF_TTL_S: Final = 300.0
_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # NB: no I or O next to 1 and 0

RandomBytes = Callable[[int], bytes]


def make_token(random: RandomBytes, length: int = 20) -> str:
    raw = random(length)
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in raw)


@dataclass(slots=True)
class _Nonce:
    value: str
    issued_at: float
    used: bool = False


class PairingNonces:
    """The pairing nonces of every kiosk (current and previous)."""

    def __init__(self, random: RandomBytes = secrets.token_bytes) -> None:
        self._random = random
        self._current: dict[str, _Nonce] = {}
        self._previous: dict[str, _Nonce] = {}

    def current(self, kiosk_id: str) -> _Nonce | None:
        return self._current.get(kiosk_id)

    def rotate(self, kiosk_id: str, now: float) -> str:
        old = self._current.get(kiosk_id)
        if old is not None:
            self._previous[kiosk_id] = old
        nonce = _Nonce(make_token(self._random, 16), now)
        self._current[kiosk_id] = nonce
        return nonce.value

    def due(self, kiosk_id: str, now: float) -> bool:
        nonce = self._current.get(kiosk_id)
        return nonce is None or nonce.used or now - nonce.issued_at >= ROTATE_S

    def claim(self, kiosk_id: str, value: str, now: float) -> str | None:
        """Marks the nonce used; None when it was good, else why it is refused."""
        for book in (self._current, self._previous):
            nonce = book.get(kiosk_id)
            if nonce is None or not secrets.compare_digest(nonce.value, value):
                continue
            if nonce.used:
                return "nonce_used"
            if now - nonce.issued_at > NONCE_MAX_AGE_S:
                return "nonce_expired"
            nonce.used = True
            return None
        if any(secrets.compare_digest(n.value, value) for n in self._all_but(kiosk_id)):
            return "nonce_other_kiosk"
        return "nonce_unknown"

    def is_current(self, kiosk_id: str, value: str) -> bool:
        nonce = self._current.get(kiosk_id)
        return nonce is not None and secrets.compare_digest(nonce.value, value)

    def _all_but(self, kiosk_id: str) -> list[_Nonce]:
        return [
            n for book in (self._current, self._previous) for k, n in book.items() if k != kiosk_id
        ]


@dataclass(frozen=True, slots=True)
class Handoff:
    token: str
    kiosk_id: str
    customer_id: str
    session_id: str
    expires_at: float


class Handoffs:
    """The hand-off token each open space shows (at most one per kiosk)."""

    def __init__(self, random: RandomBytes = secrets.token_bytes) -> None:
        self._random = random
        self._by_kiosk: dict[str, Handoff] = {}

    def issue(self, kiosk_id: str, customer_id: str, session_id: str, now: float) -> Handoff:
        handoff = Handoff(
            make_token(self._random, 24), kiosk_id, customer_id, session_id, now + HANDOFF_TTL_S
        )
        self._by_kiosk[kiosk_id] = handoff
        return handoff

    def shown(self, kiosk_id: str, token: str, now: float) -> Handoff | None:
        handoff = self._by_kiosk.get(kiosk_id)
        if handoff is None or handoff.expires_at <= now:
            return None
        return handoff if secrets.compare_digest(handoff.token, token) else None

    def drop(self, kiosk_id: str) -> None:
        self._by_kiosk.pop(kiosk_id, None)


class QrBrake:
    """Refused codes slow a scanner and a member id down: more than ``limit`` failures in
    ``window_s`` and that scanner (or id) is refused for ``window_s``."""

    def __init__(self, limit: int = 5, member_limit: int = 3, window_s: float = 60.0) -> None:
        self._limit = limit
        self._member_limit = member_limit
        self._window = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self._window:
            times.popleft()
        return times

    def blocked(self, scanner_id: str, ident: str | None, now: float) -> bool:
        if len(self._recent(f"s:{scanner_id}", now)) >= self._limit:
            return True
        return ident is not None and len(self._recent(f"m:{ident}", now)) >= self._member_limit

    def failed(self, scanner_id: str, ident: str | None, now: float) -> None:
        self._recent(f"s:{scanner_id}", now).append(now)
        if ident is not None:
            self._recent(f"m:{ident}", now).append(now)
        if len(self._failures) > 1024:  # NB: bounded: forged ids must not grow memory
            self._failures = {k: v for k, v in self._failures.items() if v}
