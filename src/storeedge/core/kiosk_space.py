"""The personal space's data: the catalog as this store knows it, the member's cart with
the edits made here, and what they asked for during this visit.

The cart is the profile's (central's) cart plus the edits made at a kiosk since: each
edit bumps ``cart_version`` to last known + 1 and becomes a ``cart.line_*`` event. A
profile whose cart version is newer than ours replaces our copy (central saw edits
made elsewhere, or ours). All of it is forgotten when the visit ends or on erasure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from storeedge.core.kiosk_messages import CartLineView, OrderView, ProductView, SpaceView
from storeedge.core.profiles import CustomerProfile, Line, first_name

LOW_STOCK: Final = 3  # at most this many here: "last ones"
MAX_QTY: Final = 10
MAX_CART_LINES: Final = 50


def price_minor(value: object) -> int | None:
    """Catalog prices are integer minor units; a decimal number is read as major units."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int):
        return value
    if not math.isfinite(value) or value < 0:
        return None
    return round(value * 100)


def stock_level(stock: object, known: bool) -> str:
    if not known or isinstance(stock, bool) or not isinstance(stock, int):
        return "unknown" if known else "none"
    if stock <= 0:
        return "none"
    return "low" if stock <= LOW_STOCK else "in_stock"


class Catalog:
    """This store's products (the local cache's copy), kept on the core thread."""

    def __init__(self) -> None:
        self._products: dict[str, Mapping[str, Any]] = {}

    def load(self, products: Mapping[str, Mapping[str, Any]]) -> None:
        self._products = dict(products)

    def put(self, sku: str, product: Mapping[str, Any] | None) -> None:
        if product is None:
            self._products.pop(sku, None)
        else:
            self._products[sku] = product

    def knows(self, sku: str) -> bool:
        return sku in self._products

    def view(self, sku: str) -> ProductView:
        item = self._products.get(sku)
        if item is None:
            return ProductView(sku, sku, None, "EUR", "none", None, True)
        name = item.get("name")
        currency = item.get("currency")
        location = item.get("location")
        level = stock_level(item.get("stock"), True)
        return ProductView(
            sku=sku,
            name=name if isinstance(name, str) and name else sku,
            price_minor=price_minor(item.get("price")),
            currency=currency if isinstance(currency, str) else "EUR",
            stock=level,
            location=location if isinstance(location, str) else None,
            orderable_elsewhere=level == "none",
        )

    def __len__(self) -> int:
        return len(self._products)


@dataclass(slots=True)
class Cart:
    version: int
    lines: list[Line]


@dataclass(slots=True)
class VisitAsks:
    """What this member asked for at a kiosk during this visit (shown as done)."""

    returns: set[str] = field(default_factory=set)
    pickups: set[str] = field(default_factory=set)
    advisor_session: str | None = None


class MemberBook:
    """Carts with local edits, and this visit's requests, per member."""

    def __init__(self) -> None:
        self._carts: dict[str, Cart] = {}
        self._asks: dict[str, VisitAsks] = {}
        self._line_seq = 0

    def cart(self, profile: CustomerProfile) -> Cart:
        cart = self._carts.get(profile.customer_id)
        if cart is None or profile.cart_version > cart.version:
            cart = Cart(profile.cart_version, _with_ids(profile.cart))
            self._carts[profile.customer_id] = cart
        return cart

    def newer_cart(self, profile: CustomerProfile) -> bool:
        """A profile arrived: True when its cart replaced the one edited here."""
        cart = self._carts.get(profile.customer_id)
        if cart is None or profile.cart_version <= cart.version:
            return False
        self._carts[profile.customer_id] = Cart(profile.cart_version, _with_ids(profile.cart))
        return True

    def new_line_id(self, session_id: str) -> str:
        self._line_seq += 1
        return f"K{session_id[-8:]}-{self._line_seq}".upper()

    def asks(self, customer_id: str) -> VisitAsks:
        return self._asks.setdefault(customer_id, VisitAsks())

    def forget(self, customer_id: str) -> None:
        self._carts.pop(customer_id, None)
        self._asks.pop(customer_id, None)


def _with_ids(lines: tuple[Line, ...]) -> list[Line]:
    """Central may send lines without ``line_id``: number them so one can be removed."""
    return [
        line if line.line_id else Line(line.sku, line.qty, f"P{index + 1}")
        for index, line in enumerate(lines)
    ]


def order_views(
    profile: CustomerProfile, catalog: Catalog, asks: VisitAsks, now: float
) -> tuple[OrderView, ...]:
    return tuple(
        OrderView(
            order_id=o.order_id,
            kind=o.kind,
            status=o.status,
            lines=tuple((catalog.view(line.sku), line.qty) for line in o.lines),
            pickup_point=o.pickup_point,
            ready_for_pickup=o.kind == "click_and_collect" and o.status == "ready",
            returnable=o.returnable_until is not None and o.returnable_until > now,
            return_requested=o.order_id in asks.returns,
            pickup_requested=o.order_id in asks.pickups,
        )
        for o in profile.orders
    )


def space_view(
    session_id: str,
    profile: CustomerProfile,
    catalog: Catalog,
    members: MemberBook,
    now: float,
) -> SpaceView:
    cart = members.cart(profile)
    asks = members.asks(profile.customer_id)
    return SpaceView(
        session_id=session_id,
        first_name=first_name(profile.display_name),
        language=profile.language,
        tier=profile.tier,
        points=profile.points,
        wishlist=tuple(catalog.view(w.sku) for w in profile.wishlist),
        cart_version=cart.version,
        cart=tuple(
            CartLineView(line.line_id, line.qty, catalog.view(line.sku)) for line in cart.lines
        ),
        orders=order_views(profile, catalog, asks, now),
        advisor_called=asks.advisor_session == session_id,
    )
