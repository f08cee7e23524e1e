"""QR payloads (CONTRACTS section 5): member cards and pickup codes, verified once.

``SE1:M:{CUSTOMER_ID}:{TOTP}``: the member card the app shows.
``SE1:P:{ORDER_ID}:{TOTP}``: a click-and-collect pickup code, same secret as the owner's.
TOTP is RFC 6238 (HMAC-SHA-1, the profile's digits and period), with one step of
skew either way, and a code is accepted only once.

Scanner input is hostile: anything that does not parse is rejected with a reason.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from storeedge.core.profiles import CustomerProfile

MAX_PAYLOAD: Final = 96
_PAYLOAD: Final = re.compile(r"^SE1:([MP]):([A-Z0-9][A-Z0-9\-.]{0,39}):([0-9]{6,10})$")


def hotp(secret: bytes, counter: int, digits: int) -> str:
    """RFC 4226 HOTP with HMAC-SHA-1."""
    mac = hmac.new(secret, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def totp(secret: bytes, unix_seconds: float, period: int, digits: int) -> str:
    return hotp(secret, int(unix_seconds // period), digits)


@dataclass(frozen=True, slots=True)
class QrCode:
    kind: str  # member | pickup
    ident: str  # customer id or order id
    code: str


@dataclass(frozen=True, slots=True)
class QrResult:
    """A verified scan (``customer_id`` set) or a rejection (``reason`` set)."""

    kind: str
    customer_id: str | None = None
    order_id: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def parse_qr(text: str) -> QrCode | str:
    """A QrCode, or the reason the text is not one of ours."""
    if not isinstance(text, str) or len(text) > MAX_PAYLOAD:
        return "too_long"
    cleaned = text.strip().upper()
    match = _PAYLOAD.match(cleaned)
    if match is None:
        return "malformed"
    kind = "member" if match.group(1) == "M" else "pickup"
    return QrCode(kind, match.group(2), match.group(3))


class QrVerifier:
    """Checks codes against profiles; remembers used steps so a code works once."""

    def __init__(self) -> None:
        self._used: dict[tuple[str, str, int], float] = {}

    def verify(  # noqa: PLR0911  # one early return per rejection reason reads best
        self, text: str, profiles: Mapping[str, CustomerProfile], now: float
    ) -> QrResult:
        parsed = parse_qr(text)
        if isinstance(parsed, str):
            return QrResult("unknown", reason=parsed)
        owner, order_id = self._owner(parsed, profiles)
        if owner is None:
            return QrResult(parsed.kind, reason="unknown_id")
        if owner.qr is None:
            return QrResult(parsed.kind, reason="no_qr_secret")
        if not owner.consent.current(now):
            return QrResult(parsed.kind, reason="no_consent")
        secret = owner.qr
        if len(parsed.code) != secret.digits:
            return QrResult(parsed.kind, reason="wrong_length")
        step = int(now // secret.period)
        for candidate in (step, step - 1, step + 1):
            if hmac.compare_digest(hotp(secret.secret, candidate, secret.digits), parsed.code):
                key = (parsed.kind, parsed.ident, candidate)
                if key in self._used:
                    return QrResult(parsed.kind, reason="already_used")
                self._used[key] = now + 3 * secret.period
                self._purge(now)
                return QrResult(parsed.kind, customer_id=owner.customer_id, order_id=order_id)
        return QrResult(parsed.kind, reason="bad_code")

    @staticmethod
    def _owner(
        parsed: QrCode, profiles: Mapping[str, CustomerProfile]
    ) -> tuple[CustomerProfile | None, str | None]:
        if parsed.kind == "member":
            return profiles.get(parsed.ident), None
        for profile in profiles.values():
            if any(o.order_id == parsed.ident for o in profile.orders):
                return profile, parsed.ident
        return None, None

    def _purge(self, now: float) -> None:
        if len(self._used) < 1024:
            return
        self._used = {k: until for k, until in self._used.items() if until > now}

    def forget_customer(self, customer_id: str) -> None:
        self._used = {k: v for k, v in self._used.items() if k[1] != customer_id}
