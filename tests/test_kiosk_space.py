"""The personal space's pure parts: prices, stock levels, nonces, hand-off tokens, the QR
brake (core only: no web, no clock but the numbers given)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from storeedge.core.kiosk_space import Catalog, price_minor, stock_level
from storeedge.core.kiosk_tokens import (
    NONCE_MAX_AGE_S,
    ROTATE_S,
    Handoffs,
    PairingNonces,
    QrBrake,
    make_token,
)


def counting_bytes() -> Callable[[int], bytes]:
    counter = itertools.count()
    return lambda n: bytes(next(counter) % 256 for _ in range(n))


def test_prices_are_minor_units_and_decimals_are_read_as_major() -> None:
    assert price_minor(2999) == 2999
    assert price_minor(29.99) == 2999
    assert price_minor(True) is None
    assert price_minor(float("nan")) is None
    assert price_minor("29.99") is None


def test_stock_levels() -> None:
    assert [stock_level(n, True) for n in (0, 1, 3, 4)] == ["none", "low", "low", "in_stock"]
    assert stock_level(None, True) == "unknown"
    assert stock_level(5, False) == "none"


def test_a_product_the_catalog_lacks_is_offered_elsewhere_without_a_price() -> None:
    catalog = Catalog()
    catalog.put("ROBE", {"name": "Robe", "price": 2999, "currency": "EUR", "stock": 0})
    assert catalog.view("ROBE").orderable_elsewhere
    lacking = catalog.view("UNKNOWN-1")
    assert (lacking.price_minor, lacking.stock, lacking.orderable_elsewhere) == (None, "none", True)
    catalog.put("ROBE", None)
    assert not catalog.knows("ROBE")


def test_tokens_use_qr_alphanumeric_characters_only() -> None:
    token = make_token(lambda n: bytes(range(200, 200 + n)), 24)
    assert len(token) == 24
    assert set(token) <= set("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ")


def test_pairing_nonce_current_previous_once_and_foreign() -> None:
    nonces = PairingNonces(counting_bytes())
    first = nonces.rotate("kiosk-1", 0.0)
    other = nonces.rotate("kiosk-2", 0.0)
    assert nonces.due("kiosk-1", ROTATE_S)
    second = nonces.rotate("kiosk-1", ROTATE_S)
    assert first != second
    assert nonces.claim("kiosk-1", first, NONCE_MAX_AGE_S + 0.1) == "nonce_expired"
    assert nonces.claim("kiosk-1", other, 21.0) == "nonce_other_kiosk"
    assert nonces.claim("kiosk-1", "NOPE", 21.0) == "nonce_unknown"
    assert nonces.claim("kiosk-1", second, 21.0) is None
    assert nonces.claim("kiosk-1", second, 21.5) == "nonce_used"
    assert nonces.due("kiosk-1", 21.5)  # a used nonce is replaced at once


def test_previous_nonce_is_good_while_young() -> None:
    nonces = PairingNonces(counting_bytes())
    first = nonces.rotate("kiosk-1", 0.0)
    nonces.rotate("kiosk-1", ROTATE_S)
    assert nonces.claim("kiosk-1", first, NONCE_MAX_AGE_S) is None


def test_handoff_token_is_shown_until_it_expires_or_is_dropped() -> None:
    handoffs = Handoffs(counting_bytes())
    issued = handoffs.issue("kiosk-1", "C-1", "S-1", 100.0)
    assert handoffs.shown("kiosk-1", issued.token, 100.0 + 299) == issued
    assert handoffs.shown("kiosk-1", issued.token, 100.0 + 300) is None
    assert handoffs.shown("kiosk-2", issued.token, 101.0) is None
    handoffs.drop("kiosk-1")
    assert handoffs.shown("kiosk-1", issued.token, 101.0) is None


def test_qr_brake_per_scanner_and_per_member() -> None:
    brake = QrBrake(limit=5, member_limit=3, window_s=60.0)
    for n in range(3):
        brake.failed("kiosk-qr", "C-1", float(n))
    assert brake.blocked("kiosk-qr", "C-1", 3.0)
    assert not brake.blocked("kiosk-qr", "C-2", 3.0)
    brake.failed("kiosk-qr", None, 4.0)
    brake.failed("kiosk-qr", None, 5.0)
    assert brake.blocked("kiosk-qr", None, 6.0)
    assert not brake.blocked("other-qr", None, 6.0)
    assert not brake.blocked("kiosk-qr", "C-1", 66.0)
