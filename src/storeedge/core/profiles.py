"""Customer profiles as central sends them (CONTRACTS section 2), validated whole.

:func:`parse_profile` either returns a complete, typed profile or raises
:class:`ProfileError` with a short reason; nothing half-parsed ever escapes.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from storeedge.core.timefmt import parse_time

# Customer and order ids travel inside QR codes: QR alphanumeric characters only.
_ID: Final = re.compile(r"^[A-Z0-9][A-Z0-9\-.]{0,39}$")
_SKU: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_.]{0,63}$")
_UUID: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_ITEMS: Final = 500
MAX_TEXT: Final = 200
MAX_FIRST_NAME: Final = 40


class ProfileError(ValueError):
    """Why a profile payload was rejected (a short, countable reason)."""


@dataclass(frozen=True, slots=True)
class Consent:
    recognition: bool
    staff_alerts: bool
    personalization: bool
    version: str
    expires_at: float | None

    def current(self, now: float) -> bool:
        """Recognition consent that is on and has not expired at ``now``."""
        return self.recognition and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class EidKey:
    identity_key: bytes  # 16 bytes
    rotation_exponent: int  # K, 0..15
    clock_offset: int


@dataclass(frozen=True, slots=True)
class IBeaconTag:
    uuid: str  # canonical lowercase
    major: int
    minor: int


@dataclass(frozen=True, slots=True)
class TotpSecret:
    secret: bytes
    digits: int
    period: int


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    qty: int
    line_id: str = ""


@dataclass(frozen=True, slots=True)
class WishItem:
    sku: str
    added_at: float | None
    channel: str


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    kind: str  # click_and_collect | delivery | ...
    status: str
    lines: tuple[Line, ...]
    pickup_point: str | None
    returnable_until: float | None


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    customer_id: str
    display_name: str
    language: str
    consent: Consent
    ble: EidKey | IBeaconTag | None
    qr: TotpSecret | None
    tier: str
    points: int
    wishlist: tuple[WishItem, ...]
    cart_version: int
    cart: tuple[Line, ...]
    orders: tuple[Order, ...]
    vip: bool

    def ready_pickups(self) -> tuple[Order, ...]:
        return tuple(
            o for o in self.orders if o.kind == "click_and_collect" and o.status == "ready"
        )


# --- validation helpers ------------------------------------------------------------------


def _obj(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ProfileError(f"{where}: expected an object")
    return value


def _text(value: object, where: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or (not value and not empty):
        raise ProfileError(f"{where}: expected a string of at most {MAX_TEXT} characters")
    return value


def _int(value: object, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProfileError(f"{where}: expected an integer from {low} to {high}")
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ProfileError(f"{where}: expected true or false")
    return value


def _time(value: object, where: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_time(value)  # type: ignore[arg-type]  # parse_time checks the type itself
    except ValueError:
        raise ProfileError(f"{where}: expected an RFC 3339 time") from None


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise ProfileError(f"{where}: expected a list of at most {MAX_ITEMS} items")
    return value


def _ident(value: object, where: str, pattern: re.Pattern[str] = _ID) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ProfileError(f"{where}: malformed identifier")
    return value


def _consent(raw: object) -> Consent:
    c = _obj(raw, "consent")
    return Consent(
        recognition=_bool(c.get("recognition", False), "consent.recognition"),
        staff_alerts=_bool(c.get("staff_alerts", False), "consent.staff_alerts"),
        personalization=_bool(c.get("personalization", False), "consent.personalization"),
        version=_text(c.get("version", ""), "consent.version", empty=True),
        expires_at=_time(c.get("expires_at"), "consent.expires_at"),
    )


def _ble(raw: object) -> EidKey | IBeaconTag | None:
    if raw is None:
        return None
    b = _obj(raw, "ble")
    kind = b.get("kind")
    if kind == "eid":
        key_hex = b.get("identity_key")
        if not isinstance(key_hex, str) or not re.fullmatch(r"[0-9a-fA-F]{32}", key_hex):
            raise ProfileError("ble.identity_key: expected 32 hex digits")
        return EidKey(
            identity_key=bytes.fromhex(key_hex),
            rotation_exponent=_int(b.get("rotation_exponent"), "ble.rotation_exponent", 0, 15),
            clock_offset=_int(b.get("clock_offset", 0), "ble.clock_offset", -(2**32), 2**32),
        )
    if kind == "ibeacon":
        uuid = b.get("uuid")
        if not isinstance(uuid, str) or not _UUID.match(uuid):
            raise ProfileError("ble.uuid: expected a lowercase 8-4-4-4-12 UUID")
        return IBeaconTag(
            uuid=uuid,
            major=_int(b.get("major"), "ble.major", 0, 65535),
            minor=_int(b.get("minor"), "ble.minor", 0, 65535),
        )
    raise ProfileError("ble.kind: expected eid or ibeacon")


def _qr(raw: object) -> TotpSecret | None:
    if raw is None:
        return None
    q = _obj(raw, "qr")
    secret = q.get("totp_secret")
    if not isinstance(secret, str) or not 16 <= len(secret) <= 128:
        raise ProfileError("qr.totp_secret: expected a base32 secret")
    try:
        padded = secret.upper() + "=" * (-len(secret) % 8)
        decoded = base64.b32decode(padded)
    except (binascii.Error, ValueError):
        raise ProfileError("qr.totp_secret: not valid base32") from None
    return TotpSecret(
        secret=decoded,
        digits=_int(q.get("digits", 6), "qr.digits", 6, 10),
        period=_int(q.get("period", 30), "qr.period", 10, 300),
    )


def _lines(raw: object, where: str) -> tuple[Line, ...]:
    out = []
    for index, item in enumerate(_list(raw, where)):
        line = _obj(item, f"{where}[{index}]")
        out.append(
            Line(
                sku=_ident(line.get("sku"), f"{where}[{index}].sku", _SKU),
                qty=_int(line.get("qty", 1), f"{where}[{index}].qty", 1, 999),
                line_id=_text(line.get("line_id", ""), f"{where}[{index}].line_id", empty=True),
            )
        )
    return tuple(out)


def _orders(raw: object) -> tuple[Order, ...]:
    out = []
    for index, item in enumerate(_list(raw, "orders")):
        where = f"orders[{index}]"
        o = _obj(item, where)
        pickup = o.get("pickup")
        point = None
        if pickup is not None:
            point = _text(_obj(pickup, f"{where}.pickup").get("point"), f"{where}.pickup.point")
        out.append(
            Order(
                order_id=_ident(o.get("order_id"), f"{where}.order_id"),
                kind=_text(o.get("kind"), f"{where}.kind"),
                status=_text(o.get("status"), f"{where}.status"),
                lines=_lines(o.get("lines", []), f"{where}.lines"),
                pickup_point=point,
                returnable_until=_time(o.get("returnable_until"), f"{where}.returnable_until"),
            )
        )
    return tuple(out)


def _wishlist(raw: object) -> tuple[WishItem, ...]:
    out = []
    for index, item in enumerate(_list(raw, "wishlist")):
        w = _obj(item, f"wishlist[{index}]")
        out.append(
            WishItem(
                sku=_ident(w.get("sku"), f"wishlist[{index}].sku", _SKU),
                added_at=_time(w.get("added_at"), f"wishlist[{index}].added_at"),
                channel=_text(w.get("channel", "app"), f"wishlist[{index}].channel"),
            )
        )
    return tuple(out)


def parse_profile(raw: object) -> CustomerProfile:
    """Validate one profile object (already JSON-decoded)."""
    p = _obj(raw, "profile")
    loyalty = _obj(p.get("loyalty", {}), "loyalty")
    cart = _obj(p.get("cart", {}), "cart")
    language = p.get("language", "fr")
    if language not in ("fr", "en"):
        language = "fr"  # NB: the kiosk speaks French and English; French is the house default
    return CustomerProfile(
        customer_id=_ident(p.get("customer_id"), "customer_id"),
        display_name=_text(p.get("display_name", ""), "display_name", empty=True),
        language=language,
        consent=_consent(p.get("consent", {})),
        ble=_ble(p.get("ble")),
        qr=_qr(p.get("qr")),
        tier=_text(loyalty.get("tier", "member"), "loyalty.tier"),
        points=_int(loyalty.get("points", 0), "loyalty.points", 0, 10**9),
        wishlist=_wishlist(p.get("wishlist", [])),
        cart_version=_int(cart.get("version", 0), "cart.version", 0, 2**53),
        cart=_lines(cart.get("lines", []), "cart.lines"),
        orders=_orders(p.get("orders", [])),
        vip=_bool(p.get("vip", False), "vip"),
    )


def valid_customer_id(text: str) -> bool:
    return bool(_ID.match(text))


def first_name(display_name: object) -> str:
    """The only personal datum a kiosk may show unasked: the first word of the name, bounded."""
    if not isinstance(display_name, str):
        return ""
    words = display_name.split()
    return words[0][:MAX_FIRST_NAME] if words else ""
