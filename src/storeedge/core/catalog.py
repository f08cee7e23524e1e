"""Catalog products as central sends them (CONTRACTS section 4), validated whole.

A product is normalised to the fields the kiosk uses; anything else is
dropped. :func:`parse_product` returns the normalised dict or raises
:class:`CatalogError` with a short, countable reason.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

SKU: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_.]{0,63}$")
_CURRENCY: Final = re.compile(r"^[A-Z]{3}$")
MAX_TEXT: Final = 200
MAX_IMAGE: Final = 500
MAX_PRICE: Final = 10_000_000
MAX_STOCK: Final = 10_000_000


class CatalogError(ValueError):
    """Why a product payload was rejected."""


def valid_sku(text: str) -> bool:
    return bool(SKU.match(text))


def _text(value: object, where: str, limit: int, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise CatalogError(f"{where}: expected a string of 1 to {limit} characters")
    return value


def parse_product(sku: str, raw: object) -> dict[str, Any]:
    """Validates one product for ``sku``; the result is what the cache stores."""
    if not valid_sku(sku):
        raise CatalogError("sku: malformed")
    if not isinstance(raw, dict):
        raise CatalogError("product: expected an object")
    price = raw.get("price")
    if (
        isinstance(price, bool)
        or not isinstance(price, int | float)
        or not math.isfinite(price)
        or not 0 <= price <= MAX_PRICE
    ):
        raise CatalogError(f"price: expected a number from 0 to {MAX_PRICE}")
    currency = raw.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise CatalogError("currency: expected an ISO 4217 code")
    stock = raw.get("stock")
    if stock is not None and (
        isinstance(stock, bool) or not isinstance(stock, int) or not 0 <= stock <= MAX_STOCK
    ):
        raise CatalogError(f"stock: expected an integer from 0 to {MAX_STOCK} or null")
    return {
        "sku": sku,
        "name": _text(raw.get("name"), "name", MAX_TEXT),
        "price": price,
        "currency": currency,
        "stock": stock,
        "location": _text(raw.get("location"), "location", MAX_TEXT, optional=True),
        "image": _text(raw.get("image"), "image", MAX_IMAGE, optional=True),
    }
