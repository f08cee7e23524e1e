"""Every kiosk state under axe-core (WCAG 2.2 AA tags) at the three screen sizes, with a
screenshot of each for a person to look at; reflow at 320 CSS px; keyboard path.

axe-core is the npm dev dependency (kiosk_ui/node_modules); it is injected as a
script, so these contexts bypass the page's CSP (the CSP itself is tested elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsershots import screenshot_path
from kioskkit import scan, tick
from playwright.sync_api import Browser, Page, expect
from webharness import Stack

from storeedge.core.screens import Greeting, KioskCleared
from storeedge.core.timefmt import format_time

AXE = Path(__file__).resolve().parents[2] / "kiosk_ui" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SIZES = {"800x480": (800, 480), "1080x1920": (1080, 1920), "1920x1080": (1920, 1080)}
SPACE = "[data-testid='space']"


@pytest.fixture
def make_page(browser: Browser) -> Iterator[Any]:
    contexts = []

    def make(width: int, height: int) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale="fr-FR",
            bypass_csp=True,
            reduced_motion="reduce",  # NB: axe judges contrast mid-animation otherwise
        )
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def audit(page: Page, state: str) -> None:
    """No serious or critical axe violation in this state."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async (tags) => {
          const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
          return r.violations.map(v => ({id: v.id, impact: v.impact,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
        }""",
        TAGS,
    )
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, (state, bad)


def shot(page: Page, size: str, state: str) -> None:
    page.screenshot(path=screenshot_path(f"kiosk-{state}-{size}.png"), animations="disabled")


def open_kiosk(page: Page, stack: Stack) -> None:
    stack.web.start()
    page.goto(stack.web.enrol_url("kiosk-1"))  # NB: as a technician enrols the screen
    page.wait_for_selector("#kiosk[data-link='up']", state="attached")
    expect(page.locator("[data-testid='pairing-qr']")).to_be_visible()


@pytest.mark.parametrize("size", list(SIZES))
def test_every_state_passes_axe_at_each_size(
    make_page: Any, kstack: Stack, jean_profile: dict[str, Any], size: str
) -> None:
    page: Page = make_page(*SIZES[size])
    open_kiosk(page, kstack)
    until = format_time(kstack.clock.now() + 600)
    message = {"text": "Soldes d'hiver : -20 % au rayon enfants", "until": until}
    assert (
        kstack.gateway.on_command("kiosk.message", {"id": "m", "data": message})["status"] == "ok"
    )
    expect(page.locator("#store-message")).to_have_text(message["text"])
    audit(page, "attract")
    shot(page, size, "attract")

    kstack.show(Greeting("kiosk-1", "Jean", "fr"))
    expect(page.locator("#greeting .greeting-hello")).to_have_text("Bonjour Jean")
    audit(page, "greeting")
    shot(page, size, "greeting")
    kstack.show(KioskCleared("kiosk-1"))

    assert scan(kstack, jean_profile, "SE1:M:C-000123:00000000") == "bad_code"
    expect(page.locator("[data-testid='notice']")).to_be_visible()
    audit(page, "notice")
    shot(page, size, "notice")

    assert scan(kstack, jean_profile) is None
    expect(page.locator(SPACE)).to_be_visible()
    audit(page, "space")
    shot(page, size, "space")

    page.locator("[data-testid='order-elsewhere']").click()
    page.locator("[data-testid='fulfilment-other_store']").click()
    audit(page, "endless-aisle")
    shot(page, size, "aisle")
    page.locator("[data-testid='dialog-cancel']").click()

    page.locator("[data-testid='return-start']").click()
    audit(page, "return")
    shot(page, size, "return")
    page.locator("[data-testid='dialog-cancel']").click()

    page.locator("[data-testid='continue-on-phone']").click()
    expect(page.locator("[data-testid='handoff-qr']")).to_be_visible()
    audit(page, "handoff")
    shot(page, size, "handoff")
    page.locator("[data-testid='dialog-cancel']").click()

    kstack.core.call(lambda: kstack.pipeline.kiosk.set_online(False))
    expect(page.locator("[data-testid='offline']")).to_be_visible()
    tick(kstack, kstack.settings.kiosks[0].idle_s + 1)
    expect(page.locator("[data-testid='idle-warning']")).to_be_visible()
    audit(page, "idle-warning")
    shot(page, size, "idle")
    page.locator("[data-testid='stay']").click()

    page.click("#lang-toggle")
    page.click("#text-size")
    expect(page.locator("[data-testid='close-space']")).to_have_text("Close my space")
    audit(page, "space-en-large")
    shot(page, size, "space-en-large")


def test_reflow_at_320_css_px_and_a_keyboard_path(
    make_page: Any, kstack: Stack, jean_profile: dict[str, Any]
) -> None:
    page: Page = make_page(320, 640)
    open_kiosk(page, kstack)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert scan(kstack, jean_profile) is None
    expect(page.locator(SPACE)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    audit(page, "space-320")
    shot(page, "320", "space")

    # keyboard only: Tab to "add to cart" on the jumper, Enter
    target = page.locator(
        "[data-testid='wishlist-item'][data-sku='PULL-MARIN-M'] [data-testid='add-to-cart']"
    )
    for _ in range(30):
        page.keyboard.press("Tab")
        if target.evaluate("b => b === document.activeElement"):
            break
    else:
        pytest.fail("the add-to-cart button cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid='cart-line'][data-sku='PULL-MARIN-M']")).to_be_visible()
    page.locator("[data-testid='close-space']").focus()
    page.keyboard.press("Enter")
    expect(page.locator(SPACE)).to_have_count(0)
