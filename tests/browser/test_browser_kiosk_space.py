"""The personal space in Chromium: opened by Jean's member card at kiosk-1's reader."""

from __future__ import annotations

import re
from typing import Any

from browsershots import screenshot_path
from kioskkit import scan
from playwright.sync_api import Page, expect
from webharness import Stack

LIVE = "#kiosk[data-link='up']"
SPACE = "[data-testid='space']"


def open_kiosk(page: Page, stack: Stack, kiosk_id: str = "kiosk-1") -> None:
    stack.web.start()
    page.goto(stack.web.enrol_url(kiosk_id))  # NB: as a technician enrols the screen
    page.wait_for_selector(LIVE, state="attached")


def wish(page: Page, sku: str) -> Any:
    return page.locator(f"[data-testid='wishlist-item'][data-sku='{sku}']")


def test_member_card_opens_the_space_with_prices_stock_and_place(
    kiosk_page: Page, kstack: Stack, jean_profile: dict[str, Any]
) -> None:
    open_kiosk(kiosk_page, kstack)
    expect(kiosk_page.locator("[data-testid='pairing-qr']")).to_have_attribute(
        "data-payload", re.compile(r"^HTTPS://APP\.STOREEDGE\.EXAMPLE/K/KIOSK-1/[0-9A-Z]{16}$")
    )

    assert scan(kstack, jean_profile) is None

    expect(kiosk_page.locator(SPACE)).to_be_visible()
    expect(kiosk_page.locator("[data-testid='attract']")).to_be_hidden()
    robe = wish(kiosk_page, "ROBE-ROSE-8A")
    expect(robe.locator("[data-testid='price']")).to_have_text(re.compile(r"^29,99\s€$"))
    expect(robe.locator("[data-testid='stock']")).to_have_text("Derniers articles")
    expect(robe.locator("[data-testid='location']")).to_have_text("Où : Allée 4, Enfants")
    expect(wish(kiosk_page, "BASKET-BLANC-38").locator("[data-testid='stock']")).to_have_text(
        "Pas dans ce magasin"
    )
    points = kiosk_page.locator("[data-testid='points']")
    expect(points).to_have_text(re.compile(r"^1\s240 points$"))
    kiosk_page.screenshot(path=screenshot_path("kiosk-space-1920.png"), animations="disabled")


def test_markup_in_a_name_stays_text_and_the_space_speaks_english(
    kiosk_page: Page,
    kiosk_settings: Any,
    make_stack: Any,
    jean_profile: dict[str, Any],
) -> None:
    from kioskkit import catalog

    hostile = {
        **jean_profile,
        "display_name": "<img/src=x/onerror=window.pwned=1>",
        "language": "en",
    }
    hostile["wishlist"] = [*jean_profile["wishlist"], {"sku": "NOT-HERE-1", "channel": "web"}]
    stack = make_stack(kiosk_settings, [hostile])
    stack.gateway.load_catalog(catalog())
    open_kiosk(kiosk_page, stack)

    assert scan(stack, hostile) is None

    title = kiosk_page.locator("#space-title")
    expect(title).to_have_text("Hello <img/src=x/onerror=window.pwned=1>")
    assert kiosk_page.locator(f"{SPACE} img").count() == 0
    assert kiosk_page.evaluate("window.pwned") is None
    unknown = wish(kiosk_page, "NOT-HERE-1")
    expect(unknown.locator("[data-testid='price']")).to_have_text("Online price")
    expect(unknown.locator("[data-testid='stock']")).to_have_text("Not in this store")
    expect(unknown.locator("[data-testid='order-elsewhere']")).to_be_visible()
    expect(wish(kiosk_page, "ROBE-ROSE-8A").locator("[data-testid='price']")).to_have_text("€29.99")
