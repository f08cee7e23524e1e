"""What the core tells a kiosk screen about the personal space: frozen, typed messages.

Privacy: a :class:`SpaceView` is built only after the member's explicit act (member
QR at this kiosk's scanner, or the app claiming this kiosk's pairing QR) and is sent
only to that kiosk's room. Every other message here carries nothing personal.
Money is integer minor units (``price_minor``); the page formats it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProductView:
    sku: str
    name: str
    price_minor: int | None  # None: this store's catalog does not know the product
    currency: str
    stock: str  # in_stock | low | none | unknown
    location: str | None
    orderable_elsewhere: bool  # the endless aisle: this store lacks it


@dataclass(frozen=True, slots=True)
class CartLineView:
    line_id: str
    qty: int
    product: ProductView


@dataclass(frozen=True, slots=True)
class OrderView:
    order_id: str
    kind: str
    status: str
    lines: tuple[tuple[ProductView, int], ...]
    pickup_point: str | None
    ready_for_pickup: bool
    returnable: bool
    return_requested: bool
    pickup_requested: bool


@dataclass(frozen=True, slots=True)
class SpaceView:
    """Everything the open personal space shows, at one instant."""

    session_id: str
    first_name: str
    language: str
    tier: str
    points: int
    wishlist: tuple[ProductView, ...]
    cart_version: int
    cart: tuple[CartLineView, ...]
    orders: tuple[OrderView, ...]
    advisor_called: bool


@dataclass(frozen=True, slots=True)
class SpaceOpened:
    kiosk_id: str
    space: SpaceView


@dataclass(frozen=True, slots=True)
class SpaceUpdated:
    """The space changed: a cart edit, a request, or a newer cart from central (``why``)."""

    kiosk_id: str
    space: SpaceView
    why: str  # cart_edit | cart_replaced | order | return | pickup | advisor


@dataclass(frozen=True, slots=True)
class SpaceClosed:
    """The page removes every trace of the space; ``reason`` picks the goodbye line."""

    kiosk_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class IdleWarning:
    """ "Still there?": the space closes in ``seconds`` unless the shopper presses stay."""

    kiosk_id: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Notice:
    """A short line for the shopper; ``kind`` is refused | offline | done | info, ``key``
    the i18n key of the text (never free text from outside)."""

    kiosk_id: str
    kind: str
    key: str


@dataclass(frozen=True, slots=True)
class PairingQr:
    kiosk_id: str
    payload: str  # CONTRACTS 5: HTTPS://{APP_HOST}/K/{KIOSK_ID}/{NONCE}
    nonce: str


@dataclass(frozen=True, slots=True)
class HandoffQr:
    kiosk_id: str
    payload: str
    token: str
    expires_in_s: float


@dataclass(frozen=True, slots=True)
class LinkState:
    """Whether central is reachable (the MQTT link, not the page's own socket)."""

    kiosk_id: str
    online: bool


@dataclass(frozen=True, slots=True)
class StoreMessage:
    """Central's ``kiosk.message`` for the attract screen; ``text`` None takes it down."""

    kiosk_id: str
    text: str | None


@dataclass(frozen=True, slots=True)
class KioskSnapshot:
    """What one (re)connected kiosk page is told besides the greeting: never a space."""

    connection: str
    kiosk_id: str
    pairing: PairingQr | None
    online: bool
    store_message: str | None


KioskMessage = (
    SpaceOpened
    | SpaceUpdated
    | SpaceClosed
    | IdleWarning
    | Notice
    | PairingQr
    | HandoffQr
    | LinkState
    | StoreMessage
    | KioskSnapshot
)


@dataclass(frozen=True, slots=True)
class ActResult:
    """The answer to a kiosk page's act: ``reason`` is an i18n-able code when refused."""

    ok: bool
    reason: str = ""
