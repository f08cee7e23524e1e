"""Jean's journey at the kiosk, end to end, in real Chromium.

A running :class:`~storeedge.app.Edge`; a real mosquitto carries the catalog, Jean's
profile, the events and central's commands (the central simulator plays central);
kiosk-1's QR reader is a real serial pseudo-terminal the edge reads like a USB
scanner. The edge runs on a manual clock so the test can make time pass (TOTP steps,
the idle warning) without waiting for it.
"""

from __future__ import annotations

import copy
import os
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browsershots import screenshot_path
from kioskkit import member_code
from playwright.sync_api import Page, expect
from polling import wait_until

from storeedge.adapters.broker import PrivateMosquitto
from storeedge.app import Edge
from storeedge.config import Settings
from storeedge.core.clock import ManualClock
from storeedge.simulators import demo_data
from storeedge.simulators.central import CentralSimulator

SPACE = "[data-testid='space']"
HOSTILE = '<img src=x onerror="window.pwned=1">Mug'


@pytest.fixture
def pty() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def jean() -> dict[str, Any]:
    profile = copy.deepcopy(demo_data.JEAN)
    profile["wishlist"].append({"sku": "MUG-HTML", "added_at": None, "channel": "web"})
    return profile


class Journey:
    def __init__(
        self,
        edge: Edge,
        central: CentralSimulator,
        broker: PrivateMosquitto,
        clock: ManualClock,
        tty: int,
    ) -> None:
        self.edge, self.central, self.broker = edge, central, broker
        self.clock, self.tty = clock, tty

    def type_code(self, text: str) -> None:
        os.write(self.tty, text.encode() + b"\r")

    def fresh_code(self) -> str:
        self.clock.advance(30.0)  # NB: the next TOTP step: a code is accepted once
        return member_code(demo_data.JEAN, self.clock.now())

    def seen(self, event_type: str, **data: Any) -> dict[str, Any]:
        def match() -> list[dict[str, Any]]:
            found = [e.event["data"] for e in self.central.events_of(event_type)]
            return [d for d in found if all(d.get(k) == v for k, v in data.items())]

        assert self.central.wait_for(lambda _c: bool(match()), 10.0), (event_type, data)
        return match()[-1]

    def command(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        command_id = self.central.send_command("edge-1", name, data)
        assert self.central.wait_for(lambda c: command_id in c.replies, 10.0)
        reply: dict[str, Any] = self.central.replies[command_id]
        return reply


@pytest.fixture
def journey(
    make_settings: Callable[..., Settings], mosquitto: PrivateMosquitto, pty: tuple[int, str]
) -> Iterator[Journey]:
    master, device = pty
    extra = (
        f'[web]\nport = 0\n\n[[qr_scanners]]\nid = "kiosk-qr"\nkind = "serial"\n'
        f'zone = "kiosk"\ndevice = "{device}"\nkiosk = "kiosk-1"\n'
    )
    settings = make_settings(port=mosquitto.port, extra=extra)
    central = CentralSimulator(mosquitto.host, mosquitto.port, settings.store.id)
    central.start()
    central.publish_profile(jean())
    for sku, product in demo_data.CATALOG.items():
        central.publish_catalog(sku, product)
    central.publish_catalog(
        "MUG-HTML", {"name": HOSTILE, "price": 1200, "currency": "EUR", "stock": 5}
    )
    clock = ManualClock(time.time())
    edge = Edge(settings, sources=[], clock=clock)
    edge.start()
    try:
        assert wait_until(lambda: edge.link.connected and len(edge.cache.products()) == 6)
        assert wait_until(lambda: "C-000123" in edge.cache.profile_ids())
        yield Journey(edge, central, mosquitto, clock, master)
    finally:
        edge.stop()
        central.stop()


def test_jeans_journey(journey: Journey, kiosk_page: Page, tablet_page: Page) -> None:
    page = kiosk_page
    page.goto(journey.edge.web.enrol_url("kiosk-1"))  # NB: as a technician enrols the screen
    tablet_page.goto(journey.edge.web.staff_url())
    page.wait_for_selector("#kiosk[data-link='up']", state="attached")
    pairing = page.locator("[data-testid='pairing-qr']")
    expect(pairing).to_have_attribute("data-payload", re.compile(r"/K/KIOSK-1/[0-9A-Z]{16}$"))

    # a forged code opens nothing and says so
    journey.type_code("SE1:M:C-000123:00000000")
    expect(page.locator("[data-testid='notice'][data-kind='refused']")).to_contain_text(
        "pas valable"
    )
    expect(page.locator(SPACE)).to_have_count(0)

    # Jean's member card at the kiosk's reader opens his space
    code = journey.fresh_code()
    journey.type_code(code)
    space = page.locator(SPACE)
    expect(space).to_be_visible()
    robe = page.locator("[data-testid='wishlist-item'][data-sku='ROBE-ROSE-8A']")
    expect(robe.locator("[data-testid='price']")).to_have_text(re.compile(r"^29,99\s€$"))
    expect(robe.locator("[data-testid='stock']")).to_have_text("Derniers articles")
    expect(robe.locator("[data-testid='location']")).to_contain_text("Allée 4, Enfants")
    expect(page.locator("[data-testid='points']")).to_have_text(re.compile(r"^1\s240 points$"))
    mug = page.locator("[data-testid='wishlist-item'][data-sku='MUG-HTML']")
    expect(mug.locator(".product-name")).to_have_text(HOSTILE)  # markup stays text
    assert page.evaluate("window.pwned") is None
    assert mug.locator("img").count() == 0
    journey.seen("storeedge.kiosk.session_started", method="qr", kiosk_id="kiosk-1")
    page.screenshot(path=screenshot_path("journey-space.png"), animations="disabled")

    # cart: add the jumper (2), then remove it
    pull = page.locator("[data-testid='wishlist-item'][data-sku='PULL-MARIN-M']")
    pull.locator("select").select_option("2")
    pull.locator("[data-testid='add-to-cart']").click()
    line = page.locator("[data-testid='cart-line'][data-sku='PULL-MARIN-M']")
    expect(line).to_have_attribute("data-qty", "2")
    added = journey.seen("storeedge.cart.line_added", cart_version=8)
    assert added["line"]["sku"] == "PULL-MARIN-M"
    line.locator("[data-testid='remove-line']").click()
    expect(line).to_have_count(0)
    journey.seen("storeedge.cart.line_removed", cart_version=9)

    # endless aisle: the trainers this store lacks, shipped home
    shoes = page.locator("[data-testid='wishlist-item'][data-sku='BASKET-BLANC-38']")
    shoes.locator("[data-testid='order-elsewhere']").click()
    page.locator("[data-testid='fulfilment-ship_to_home']").click()
    page.locator("dialog[open] [data-testid='confirm']").click()
    ordered = journey.seen("storeedge.order.requested", fulfilment="ship_to_home")
    assert ordered["lines"] == [{"sku": "BASKET-BLANC-38", "qty": 1}]

    # "I'm here for my order": the staff console gets the pickup alert
    order = page.locator("[data-testid='order'][data-order-id='O-98121']")
    order.locator("[data-testid='pickup-here']").click()
    expect(order).to_contain_text("Un vendeur vous apporte votre commande")
    journey.seen("storeedge.alert.raised", kind="pickup", customer_id="C-000123")
    staff_alert = "[data-testid='alert'][data-kind='{0}'], .alert-card.kind-{0}"
    expect(tablet_page.locator(staff_alert.format("pickup")).first).to_be_visible()

    # a return on the delivered order
    delivered = page.locator("[data-testid='order'][data-order-id='O-97002']")
    delivered.locator("[data-testid='return-start']").click()
    page.locator("[data-testid='return-line'][data-sku='ROBE-ROSE-10A']").check()
    page.locator("[data-testid='return-reason']").select_option("too_small")
    page.locator("dialog[open] [data-testid='confirm']").click()
    expect(delivered).to_contain_text("Retour demandé")
    returned = journey.seen("storeedge.return.requested", order_id="O-97002")
    assert returned["lines"] == [{"sku": "ROBE-ROSE-10A", "qty": 1}]

    # call an advisor: an advisor alert with the kiosk's zone
    page.locator("[data-testid='call-advisor']").click()
    journey.seen("storeedge.alert.raised", kind="advisor", zone="kiosk")
    expect(tablet_page.locator(staff_alert.format("advisor")).first).to_be_visible()

    # continue on my phone: a single-use token central can redeem
    page.locator("[data-testid='continue-on-phone']").click()
    handoff = page.locator("[data-testid='handoff-qr']")
    expect(handoff).to_be_visible()
    issued = journey.seen("storeedge.kiosk.handoff_issued")
    assert handoff.get_attribute("data-payload") == (
        f"HTTPS://APP.STOREEDGE.EXAMPLE/H/{issued['token']}"
    )
    assert wait_until(lambda: handoff.evaluate("img => img.naturalWidth") > 0, 5.0)
    page.locator("[data-testid='dialog-cancel']").click()

    # close: nothing personal stays in the page
    page.locator("[data-testid='close-space']").click()
    expect(page.locator(SPACE)).to_have_count(0)
    expect(page.locator("[data-testid='attract']")).to_be_visible()
    journey.seen("storeedge.kiosk.session_ended", reason="closed_by_member")
    html = page.content()
    for private in ("Jean", "1240", "O-98121", "PULL-MARIN-M", "Allée"):
        assert private not in html

    # the same code again is refused
    journey.type_code(code)
    expect(page.locator("[data-testid='notice']").last).to_contain_text("déjà servi")
    expect(page.locator(SPACE)).to_have_count(0)

    # the app claims the pairing QR; the same nonce again is refused
    nonce = (pairing.get_attribute("data-payload") or "").rsplit("/", 1)[1]
    claim = {"kiosk_id": "KIOSK-1", "nonce": nonce, "customer_id": "C-000123"}
    assert journey.command("pairing.claim", claim)["status"] == "ok"
    expect(page.locator(SPACE)).to_be_visible()
    journey.seen("storeedge.kiosk.session_started", method="app")
    again = journey.command("pairing.claim", claim)
    assert again["status"] == "rejected"
    assert again["reason"] == "nonce used"

    # idle: the warning, "stay", then the warning again and the wipe
    journey.clock.advance(61.0)
    warning = page.locator("[data-testid='idle-warning']")
    expect(warning).to_be_visible()
    page.screenshot(path=screenshot_path("journey-idle.png"), animations="disabled")
    warning.locator("[data-testid='stay']").click()
    expect(warning).to_be_hidden()
    expect(page.locator(SPACE)).to_be_visible()
    time.sleep(0.3)  # NB: the edge hears "stay" before the clock jumps again
    journey.clock.advance(61.0)
    expect(warning).to_be_visible()
    journey.clock.advance(21.0)
    expect(page.locator(SPACE)).to_have_count(0)
    journey.seen("storeedge.kiosk.session_ended", reason="idle")
    assert "Jean" not in page.content()

    # central unreachable: the banner shows; the space still opens from the local cache
    # and what Jean does waits in the outbox
    expect(page.locator("[data-testid='offline']")).to_be_hidden()
    journey.broker.stop()
    expect(page.locator("[data-testid='offline']")).to_be_visible(timeout=15_000)
    journey.type_code(journey.fresh_code())
    expect(page.locator(SPACE)).to_be_visible()
    pull.locator("[data-testid='add-to-cart']").click()
    expect(line).to_be_visible()
    expect(page.locator("[data-testid='notice']").last).to_contain_text("Hors ligne")
    page.screenshot(path=screenshot_path("journey-offline.png"), animations="disabled")
    assert wait_until(lambda: journey.edge.outbox.stats()["pending_total"] > 0, 5.0)
