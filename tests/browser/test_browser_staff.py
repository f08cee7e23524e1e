"""The staff console in Chromium: Jean's arrival shows up live and his alert is claimed by touch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from browsershots import screenshot_path
from playwright.sync_api import Page, expect
from webharness import STAFF_PIN, Stack

from storeedge.config import Settings


def open_console(page: Page, stack: Stack) -> None:
    stack.web.start()
    page.goto(stack.web.staff_url())
    expect(page.locator("#live-pill")).to_have_text("En direct")


def test_staff_sees_jean_arrive_and_claims_his_pickup(
    tablet_page: Page, stack: Stack, jean_profile: dict[str, Any]
) -> None:
    open_console(tablet_page, stack)
    expect(tablet_page.locator("#no-pin-banner")).to_be_visible()
    expect(tablet_page.locator("#present-empty")).to_be_visible()

    stack.walk(jean_profile, "entrance", 1.0)

    member = tablet_page.get_by_test_id("visit").filter(has_text="Jean")
    expect(member).to_be_visible()
    expect(member).to_contain_text("Entrée")
    expect(member).to_contain_text("Or")
    expect(member).to_contain_text("1 retrait prêt")
    card = tablet_page.locator("[data-testid=alert][data-kind=pickup]")
    expect(card).to_contain_text("Retrait click & collect")
    expect(card).to_contain_text("Commande O-98121")
    expect(card).to_contain_text("1 \u00d7 JEAN-SLIM-32")  # the lines to pick
    expect(card).to_have_attribute("data-state", "open")

    card.get_by_test_id("claim").click()  # no name yet: nothing is done
    expect(tablet_page.locator("#toast")).to_contain_text("Indiquez d'abord votre prénom")
    expect(tablet_page.get_by_test_id("staff-name")).to_be_focused()
    assert stack.open_alerts()[0].state == "open"
    tablet_page.get_by_test_id("staff-name").fill("Marie")
    tablet_page.get_by_test_id("staff-name").blur()
    tablet_page.screenshot(path=screenshot_path("staff.png"), animations="disabled")

    card.get_by_role("button", name="Je m'en occupe").click()

    expect(card).to_contain_text("Pris en charge par Marie")
    expect(card.locator(".state-chip")).to_have_text("En cours")
    expect(card).to_have_attribute("data-state", "claimed")
    expect(card.get_by_role("button", name="Je m'en occupe")).to_have_count(0)
    tablet_page.screenshot(path=screenshot_path("staff-claimed.png"), animations="disabled")
    (alert,) = stack.open_alerts()
    assert alert.state == "claimed"
    assert alert.claimed_by == "Marie"

    # Jean walks to the kiosk: the card says where he is now, like his member row.
    stack.walk_to_kiosk(jean_profile)
    expect(member.locator(".zone-chip")).to_have_text("Borne")
    expect(card.locator(".zone-chip")).to_have_text("Borne")

    card.get_by_role("button", name="Terminé").click()

    expect(tablet_page.get_by_test_id("alert")).to_have_count(0)
    expect(tablet_page.locator("#alerts-empty")).to_be_visible()
    assert stack.open_alerts() == []


def test_console_snapshot_and_departure(
    tablet_page: Page, stack: Stack, jean_profile: dict[str, Any]
) -> None:
    stack.walk(jean_profile, "entrance", 1.0)
    open_console(tablet_page, stack)
    expect(tablet_page.get_by_test_id("visit").filter(has_text="Jean")).to_be_visible()
    expect(tablet_page.get_by_test_id("alert")).to_have_count(1)

    stack.leave("C-000123")

    expect(tablet_page.get_by_test_id("visit")).to_have_count(0)
    expect(tablet_page.get_by_test_id("alert")).to_have_count(0)  # closed: the member left
    assert stack.open_alerts() == []


def test_console_in_english(tablet_page: Page, stack: Stack, jean_profile: dict[str, Any]) -> None:
    open_console(tablet_page, stack)
    stack.walk(jean_profile, "entrance", 1.0)
    expect(tablet_page.get_by_test_id("alert")).to_have_count(1)
    expect(tablet_page.locator("#lang-toggle")).to_have_accessible_name("EN Switch to English")

    tablet_page.click("#lang-toggle")

    expect(tablet_page.locator("#live-pill")).to_have_text("Live")
    expect(tablet_page.locator(".alert-card")).to_contain_text("Click & collect pickup")
    expect(tablet_page.get_by_test_id("visit")).to_contain_text("Entrance")
    expect(tablet_page.get_by_test_id("kpi")).to_contain_text("Today, from the customer's arrival")
    expect(tablet_page.get_by_role("button", name="I'll handle it")).to_be_visible()


def test_sign_in_with_the_store_pin_then_claim(
    tablet_page: Page,
    pin_settings: Settings,
    make_stack: Callable[..., Stack],
    jean_profile: dict[str, Any],
) -> None:
    stack = make_stack(pin_settings)
    stack.web.start()
    tablet_page.goto(stack.web.staff_url())
    expect(tablet_page).to_have_url(f"{stack.web.base_url()}/staff/login")
    tablet_page.get_by_test_id("staff-name").fill("Marie")
    tablet_page.fill("input[name=pin]", "0000")
    tablet_page.click("button[type=submit]")
    expect(tablet_page.locator("#login-error")).to_have_text("Code PIN incorrect.")
    tablet_page.screenshot(path=screenshot_path("staff-login.png"), animations="disabled")

    tablet_page.fill("input[name=name]", "Marie")
    tablet_page.fill("input[name=pin]", STAFF_PIN)
    tablet_page.click("button[type=submit]")

    expect(tablet_page.locator("#live-pill")).to_have_text("En direct")
    expect(tablet_page.locator("#staff-name")).to_have_text("Marie")
    expect(tablet_page.locator("#no-pin-banner")).to_have_count(0)
    stack.walk(jean_profile, "entrance", 1.0)
    card = tablet_page.locator("[data-testid=alert][data-kind=pickup]")
    card.get_by_test_id("claim").click()
    expect(card).to_contain_text("Pris en charge par Marie")

    tablet_page.get_by_role("button", name="Se déconnecter").click()
    expect(tablet_page).to_have_url(f"{stack.web.base_url()}/staff/login")
