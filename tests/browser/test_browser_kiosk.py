"""The kiosk page in Chromium: idle, greeting Jean live, and back to idle with nothing left."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable
from typing import Any

from browsershots import screenshot_path
from playwright.sync_api import Page, expect
from webharness import Stack

from storeedge.config import Settings
from storeedge.core.screens import Greeting, KioskCleared

LIVE = "#kiosk[data-link='up']"


def open_kiosk(page: Page, stack: Stack, kiosk_id: str = "kiosk-1") -> None:
    stack.web.start()
    # NB: as a technician enrols a screen: the one-time URL, which lands on the kiosk page.
    page.goto(stack.web.enrol_url(kiosk_id))
    assert page.url == stack.web.kiosk_url(kiosk_id)
    page.wait_for_selector(LIVE, state="attached")


def test_kiosk_greets_jean_live_then_forgets_him(
    kiosk_page: Page, stack: Stack, jean_profile: dict[str, Any]
) -> None:
    open_kiosk(kiosk_page, stack)
    expect(kiosk_page.locator("#attract h1")).to_have_text("Bienvenue chez Maison Lumière")
    expect(kiosk_page.locator("#attract .scan-card h2")).to_have_text("Scannez votre carte membre")
    kiosk_page.screenshot(path=screenshot_path("kiosk-idle.png"), animations="disabled")

    stack.walk_to_kiosk(jean_profile)

    hello = kiosk_page.locator("#greeting .greeting-hello")
    expect(hello).to_have_text("Bonjour Jean")
    expect(kiosk_page.get_by_test_id("greeting")).to_contain_text("Jean")  # CONTRACTS 8 hook
    expect(kiosk_page.locator("#greeting")).to_contain_text("ouvrir votre espace personnel")
    expect(kiosk_page.locator("#attract")).to_be_hidden()
    kiosk_page.screenshot(path=screenshot_path("kiosk-greeting.png"), animations="disabled")
    text = kiosk_page.locator("body").inner_text()
    for private in ("C-000123", "O-98121", "gold", "ROBE", "counter-A"):
        assert private not in text

    stack.leave("C-000123")

    expect(kiosk_page.locator("#attract")).to_be_visible()
    expect(kiosk_page.locator("#greeting")).to_be_hidden()
    expect(kiosk_page.get_by_test_id("greeting")).to_have_count(0)
    assert kiosk_page.locator("#greeting > *").count() == 0
    assert "Jean" not in kiosk_page.content()


def test_greeting_speaks_the_members_language(kiosk_page: Page, stack: Stack) -> None:
    open_kiosk(kiosk_page, stack)

    stack.show(Greeting("kiosk-1", "Jean", "en"))

    expect(kiosk_page.locator("#greeting .greeting-hello")).to_have_text("Hello Jean")
    expect(kiosk_page.locator("html")).to_have_attribute("lang", "en")
    stack.show(KioskCleared("kiosk-1"))
    expect(kiosk_page.locator("#attract .scan-card h2")).to_have_text("Scannez votre carte membre")


def test_language_toggle(kiosk_page: Page, stack: Stack) -> None:
    open_kiosk(kiosk_page, stack)

    kiosk_page.click("#lang-toggle")

    expect(kiosk_page.locator("#attract .scan-card h2")).to_have_text("Scan your member card")
    expect(kiosk_page.locator("#attract h1")).to_have_text("Welcome to Maison Lumière")
    expect(kiosk_page.locator("#lang-toggle")).to_have_text("FR")
    kiosk_page.click("#lang-toggle")
    expect(kiosk_page.locator("#attract .scan-card h2")).to_have_text("Scannez votre carte membre")


def test_other_kiosk_is_not_greeted(
    kiosk_page: Page, stack: Stack, jean_profile: dict[str, Any]
) -> None:
    open_kiosk(kiosk_page, stack, "kiosk-2")

    stack.walk_to_kiosk(jean_profile)
    kiosk_page.wait_for_timeout(300)

    expect(kiosk_page.locator("#greeting")).to_be_hidden()
    assert "Jean" not in kiosk_page.content()


def test_greeting_is_cleared_when_the_link_drops(kiosk_page: Page, stack: Stack) -> None:
    open_kiosk(kiosk_page, stack)
    stack.show(Greeting("kiosk-1", "Jean", "fr"))
    expect(kiosk_page.locator("#greeting .greeting-hello")).to_have_text("Bonjour Jean")

    stack.web.stop()

    expect(kiosk_page.locator("#link-status")).to_be_visible()
    expect(kiosk_page.locator("#greeting")).to_be_hidden()
    assert "Jean" not in kiosk_page.content()


def test_greeting_fades_after_the_kiosk_idle_time(
    kiosk_page: Page, web_settings: Settings, make_stack: Callable[..., Stack]
) -> None:
    kiosks = tuple(dataclasses.replace(k, idle_s=1.0) for k in web_settings.kiosks)
    stack = make_stack(dataclasses.replace(web_settings, kiosks=kiosks))
    open_kiosk(kiosk_page, stack)
    stack.show(Greeting("kiosk-1", "Jean", "fr"))
    expect(kiosk_page.locator("#greeting .greeting-hello")).to_have_text("Bonjour Jean")

    expect(kiosk_page.locator("#attract")).to_be_visible(timeout=5000)
    assert "Jean" not in kiosk_page.content()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_kiosk_reconnects_when_the_edge_comes_back(
    kiosk_page: Page, web_settings: Settings, make_stack: Callable[..., Stack]
) -> None:
    fixed = dataclasses.replace(web_settings.web, port=free_port())
    stack = make_stack(dataclasses.replace(web_settings, web=fixed))
    open_kiosk(kiosk_page, stack)

    stack.web.stop()
    expect(kiosk_page.locator("#link-status")).to_be_visible()
    stack.web.start()

    expect(kiosk_page.locator(LIVE)).to_be_attached(timeout=10_000)
    expect(kiosk_page.locator("#link-status")).to_be_hidden()
    stack.show(Greeting("kiosk-1", "Jean", "fr"))
    expect(kiosk_page.locator("#greeting .greeting-hello")).to_have_text("Bonjour Jean")


def test_a_screen_that_is_not_enrolled_says_so(kiosk_page: Page, stack: Stack) -> None:
    stack.web.start()
    kiosk_page.goto(stack.web.kiosk_url("kiosk-1"))

    notice = kiosk_page.get_by_test_id("not-enrolled")
    expect(notice).to_contain_text("Cet écran n'est pas enregistré")
    expect(notice).to_contain_text("storeedge kiosk-enrol --config")
    assert kiosk_page.locator("#kiosk").count() == 0


def test_a_revoked_screen_leaves_the_kiosk_for_the_not_enrolled_page(
    kiosk_page: Page, stack: Stack
) -> None:
    open_kiosk(kiosk_page, stack)

    assert stack.web.kiosks.enrolments.revoke("kiosk-1") == 1

    expect(kiosk_page.get_by_test_id("not-enrolled")).to_be_visible(timeout=10_000)
    assert kiosk_page.locator("#kiosk").count() == 0
