"""From "I'm here" to handover, on a real Edge: two clerks, the app's check-in, the counter.

Everything is real: mosquitto on a free loopback port with the central simulator
sending CONTRACTS 7 commands, the Edge (outbox, MQTT link, core loop, web app),
a serial pseudo-terminal as the counter's QR scanner, and two Chromium contexts
(two tablets, two clerks signed in with their names and the store PIN).
"""

from __future__ import annotations

import base64
import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browsershots import screenshot_path
from playwright.sync_api import Browser, Page, expect
from polling import wait_until as until
from staff_axe import horizontal_overflow, serious_violations
from werkzeug.security import generate_password_hash

from storeedge.adapters.broker import PrivateMosquitto
from storeedge.app import Edge
from storeedge.config import Settings
from storeedge.core.profiles import parse_profile
from storeedge.core.qr import totp
from storeedge.core.settings import AlertSettings
from storeedge.simulators.central import CentralSimulator

PIN = "1357"
# Counts the tones the console's chime plays (WebAudio oscillators), for the tests only.
COUNT_TONES = """
window.__tones = 0;
const create = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.__tones += 1;
  return create.call(this);
};
"""
ALERT = "[data-testid=alert][data-kind=pickup]"
COUNTER = """
[web]
port = 0

[[qr_scanners]]
id = "counter-qr"
kind = "serial"
zone = "counter"
device = "{device}"

[[pickup_points]]
id = "counter-A"
name = "Comptoir retraits"
"""


@dataclasses.dataclass
class Store:
    edge: Edge
    central: CentralSimulator
    scanner: int  # the pty master: what the counter's scanner "types"

    def command(self, name: str, data: dict[str, Any], command_id: str) -> dict[str, Any]:
        self.central.replies.pop(command_id, None)
        self.central.send_command("edge-1", name, data, command_id=command_id)
        assert self.central.wait_for(lambda c: command_id in c.replies, 10), command_id
        return self.central.replies[command_id]

    def events(self, short_type: str) -> list[dict[str, Any]]:
        return [e.event["data"] for e in self.central.events_of(f"storeedge.{short_type}")]

    def scan(self, text: str) -> None:
        os.write(self.scanner, text.encode() + b"\r")


def pickup_code(profile: dict[str, Any], order_id: str = "O-98121") -> str:
    qr = profile["qr"]
    code = totp(base64.b32decode(qr["totp_secret"]), time.time(), qr["period"], qr["digits"])
    return f"SE1:P:{order_id}:{code}"


@pytest.fixture
def make_store(
    mosquitto: PrivateMosquitto,
    make_settings: Callable[..., Settings],
    jean_profile: dict[str, Any],
) -> Iterator[Callable[..., Store]]:
    made: list[tuple[Edge, CentralSimulator, int, int]] = []

    def make(escalate_after_s: float = 120.0) -> Store:
        master, slave = os.openpty()
        settings = make_settings(
            port=mosquitto.port, extra=COUNTER.format(device=os.ttyname(slave))
        )
        pin_hash = generate_password_hash(PIN, method="pbkdf2:sha256:1000")
        settings = dataclasses.replace(
            settings,
            store=dataclasses.replace(settings.store, name="Maison Lumière"),
            web=dataclasses.replace(settings.web, staff_pin_hash=pin_hash),
            # NB: below the config's 10 s floor, so the escalation test stays short
            alerts=AlertSettings(escalate_after_s=escalate_after_s),
        )
        central = CentralSimulator(mosquitto.host, mosquitto.port, "store-042")
        central.start()
        edge = Edge(settings, sources=[], extra_profiles=[parse_profile(jean_profile)])
        edge.start()
        made.append((edge, central, master, slave))
        assert until(lambda: edge.link.connected)
        return Store(edge, central, master)

    yield make
    for edge, central, master, slave in made:
        edge.stop()
        central.stop()
        os.close(master)
        os.close(slave)


def clerk(
    browser: Browser,
    store: Store,
    name: str,
    width: int = 1280,
    height: int = 800,
    check_login: bool = False,
) -> Page:
    """A tablet whose clerk signs in with their name and the store PIN."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="fr-FR", bypass_csp=True
    )
    context.add_init_script(COUNT_TONES)
    page = context.new_page()
    page.goto(store.edge.web.staff_url())
    if check_login:
        no_serious_violations(page, "sign-in page")
    page.get_by_test_id("staff-name").fill(name)
    page.fill("input[name=pin]", PIN)
    page.click("button[type=submit]")
    expect(page.locator("#live-pill")).to_have_text("En direct")
    return page


def no_serious_violations(page: Page, state: str) -> None:
    found = serious_violations(page)
    assert found == [], f"{state}: {found}"


def press_together(pages: list[Page], selector: str) -> None:
    """Each page presses ``selector`` at the same wall-clock instant (0.4 s from now)."""
    at = time.time() * 1000 + 400
    for page in pages:
        page.evaluate(
            "([sel, at]) => setTimeout(() => document.querySelector(sel).click(), at - Date.now())",
            [selector, at],
        )


def test_checkin_claim_race_and_handover_at_the_counter(
    browser: Browser, make_store: Callable[..., Store], jean_profile: dict[str, Any]
) -> None:
    store = make_store()
    marie, paul = clerk(browser, store, "Marie", check_login=True), clerk(browser, store, "Paul")
    for page in (marie, paul):
        expect(page.locator("#alerts-empty")).to_be_visible()
    no_serious_violations(marie, "empty console")

    # A check-in for an unknown customer is rejected and opens nothing.
    reply = store.command("customer.checkin", {"customer_id": "C-404404"}, "chk-unknown")
    assert reply == {
        "status": "rejected",
        "reason": "unknown customer",
        "command_id": "chk-unknown",
    }

    # "I'm here" from the app, with the ready order: the pickup alert on both consoles.
    checkin = {"customer_id": "C-000123", "order_id": "O-98121"}
    reply = store.command("customer.checkin", checkin, "chk-1")
    assert reply == {"status": "ok", "reason": "", "command_id": "chk-1"}
    for page in (marie, paul):
        card = page.locator(ALERT)
        expect(card).to_have_attribute("data-state", "open")
        expect(card).to_contain_text("Commande O-98121")
        expect(card).to_contain_text("Comptoir retraits")  # the point's name, not its id
        expect(card).to_contain_text("1 \u00d7 JEAN-SLIM-32")
        expect(page.get_by_test_id("visit")).to_have_attribute("data-customer-id", "C-000123")
    expect(marie.locator("#announcer")).to_contain_text("Nouvelle alerte")
    no_serious_violations(marie, "open alert")
    marie.screenshot(path=screenshot_path("staff-pickup-open-1280.png"), animations="disabled")

    # The same command id again: answered the same, acted on once.
    assert store.command("customer.checkin", checkin, "chk-1") == reply
    assert until(lambda: len(store.events("alert.raised")) >= 1)
    time.sleep(0.3)  # NB: give a (wrong) second alert the time to show up
    assert len(store.events("customer.arrived")) == 1
    assert len(store.events("alert.raised")) == 1
    expect(paul.locator(ALERT)).to_have_count(1)

    # Both press "Je m'en occupe" at the same instant: exactly one wins.
    press_together([marie, paul], f"{ALERT} [data-testid=claim]")
    for page in (marie, paul):
        expect(page.locator(ALERT)).to_have_attribute("data-state", "claimed")
    assert until(lambda: len(store.events("alert.claimed")) >= 1)
    time.sleep(0.3)
    (claimed,) = store.events("alert.claimed")
    winner = claimed["staff_id"]
    assert winner in ("Marie", "Paul")
    for page in (marie, paul):
        expect(page.locator(ALERT)).to_contain_text(f"Pris en charge par {winner}")
    loser = paul if winner == "Marie" else marie
    expect(loser.locator("#toast")).to_contain_text("déjà prise en charge")
    expect(marie.locator("#kpi-claim-median")).not_to_have_text("—")
    no_serious_violations(loser, "claimed, with a refusal toast")
    marie.screenshot(path=screenshot_path("staff-pickup-claimed-1280.png"), animations="disabled")

    # Jean shows the pickup code from the app at the counter's scanner (a real pty).
    code = pickup_code(jean_profile)
    store.scan(code)
    assert until(lambda: len(store.events("alert.resolved")) == 1)
    (handed,) = store.events("pickup.handed_over")
    assert (handed["order_id"], handed["customer_id"], handed["proof"]) == (
        "O-98121",
        "C-000123",
        "qr",
    )
    (resolved,) = store.events("alert.resolved")
    assert (resolved["alert_id"], resolved["reason"]) == (claimed["alert_id"], "handed_over")
    for page in (marie, paul):
        expect(page.get_by_test_id("alert")).to_have_count(0)
        expect(page.locator("#toast")).to_contain_text("Commande O-98121 remise à Jean")
        expect(page.get_by_test_id("kpi").locator("#kpi-handover-median")).not_to_have_text("—")
        expect(page.get_by_test_id("kpi")).to_contain_text("1 remise(s), dont 1 dans l'objectif")
    no_serious_violations(paul, "after the handover")

    # The same code again does nothing (the consoles say why).
    store.scan(code)
    assert until(lambda: store.edge.core.counters().get("qr.refused.already_used") == 1)
    expect(marie.locator("#toast")).to_contain_text("code déjà utilisé")
    time.sleep(0.3)
    assert len(store.events("pickup.handed_over")) == 1
    assert len(store.events("alert.resolved")) == 1


def test_unclaimed_alert_is_escalated_and_handed_over_by_typed_code(
    browser: Browser, make_store: Callable[..., Store], jean_profile: dict[str, Any]
) -> None:
    store = make_store(escalate_after_s=3.0)
    marie = clerk(browser, store, "Marie")
    marie.locator("body").click(position={"x": 5, "y": 200})  # a touch: browsers then allow sound
    store.command("customer.checkin", {"customer_id": "C-000123", "order_id": "O-98121"}, "c-2")
    card = marie.locator(ALERT)
    expect(card).to_have_count(1)
    marie.wait_for_function("() => window.__tones >= 2")  # the new alert's chime
    expect(card).to_have_attribute("data-state", "escalated", timeout=10000)
    expect(card.locator(".state-chip")).to_have_text("Attente trop longue")
    expect(marie.locator("#announcer")).to_contain_text("Attente trop longue")
    marie.wait_for_function("() => window.__tones === 5")  # and the urgent one
    (escalated,) = store.events("alert.escalated")
    assert escalated["kind"] == "pickup"
    no_serious_violations(marie, "escalated")
    marie.screenshot(path=screenshot_path("staff-escalated-1280.png"), animations="disabled")

    # A wrong code typed from the app's screen is refused on this console, with a reason.
    card.locator(".code-input").fill("12345678")
    card.get_by_role("button", name="Remettre", exact=True).click()
    expect(marie.locator("#toast")).to_contain_text("code incorrect ou expiré")
    expect(card.locator(".code-input")).to_have_value("12345678")  # kept for a correction
    digits = pickup_code(jean_profile).rsplit(":", 1)[1]
    card.locator(".code-input").fill(digits)
    card.get_by_role("button", name="Remettre", exact=True).click()
    expect(marie.get_by_test_id("alert")).to_have_count(0)
    assert until(lambda: len(store.events("pickup.handed_over")) == 1)
    (handed,) = store.events("pickup.handed_over")
    assert (handed["proof"], handed["staff_id"]) == ("code", "Marie")


def test_console_layouts_and_accessibility_in_every_state(
    browser: Browser, make_store: Callable[..., Store], jean_profile: dict[str, Any]
) -> None:
    vip = {**jean_profile, "customer_id": "C-000777", "display_name": "Inès", "vip": True}
    vip["orders"] = []
    vip["ble"] = {**jean_profile["ble"], "identity_key": "ff" * 16}
    store = make_store()
    store.edge.core.apply_profile(parse_profile(vip))
    phone = clerk(browser, store, "Léa", 390, 844)
    store.command("customer.checkin", {"customer_id": "C-000123", "order_id": "O-98121"}, "l-1")
    store.command("customer.checkin", {"customer_id": "C-000777"}, "l-2")
    store.command("alert.raise", {"kind": "advisor", "zone": "floor", "note": "Cabine 3"}, "l-3")
    expect(phone.get_by_test_id("alert")).to_have_count(3)
    expect(phone.locator("[data-testid=alert][data-kind=vip]")).to_contain_text("Inès")
    no_serious_violations(phone, "phone, three alerts")
    assert horizontal_overflow(phone) == 0
    phone.screenshot(path=screenshot_path("staff-390x844.png"), animations="disabled")

    # The override asks for a confirmation that says it is recorded under the clerk's name.
    card = phone.locator(ALERT)
    card.get_by_test_id("override").click()
    expect(card.get_by_test_id("override-confirm")).to_be_focused()
    expect(card).to_contain_text("enregistrée à votre nom")
    no_serious_violations(phone, "override confirmation")
    first = phone.get_by_test_id("alert").first
    first.get_by_test_id("claim").focus()
    first.get_by_test_id("claim").press("Enter")
    expect(first).to_have_attribute("data-state", "claimed")
    expect(first.get_by_test_id("resolve")).to_be_focused()  # focus stays in the card

    narrow = clerk(browser, store, "Tom", 320, 700)
    expect(narrow.get_by_test_id("alert")).to_have_count(3)
    assert horizontal_overflow(narrow) == 0
    no_serious_violations(narrow, "320 px")

    small = clerk(browser, store, "Nina", 1024, 768)
    expect(small.get_by_test_id("alert")).to_have_count(3)
    order = small.get_by_test_id("alert").evaluate_all("cards => cards.map(c => c.dataset.kind)")
    assert order == ["pickup", "vip", "advisor"]  # oldest first; the claim moved nothing
    small.screenshot(path=screenshot_path("staff-1024x768.png"), animations="disabled")

    small.click("#lang-toggle")
    expect(small.get_by_test_id("alert").first).to_contain_text("Handled by Léa")
    no_serious_violations(small, "English")
    small.screenshot(path=screenshot_path("staff-1024x768-en.png"), animations="disabled")

    # A new alert while the clerk has scrolled: nothing jumps, nothing is rebuilt.
    small.evaluate("() => window.scrollTo(0, 240)")
    first_card = small.get_by_test_id("alert").first.element_handle()
    store.command("alert.raise", {"kind": "advisor", "zone": "kiosk"}, "l-4")
    expect(small.get_by_test_id("alert")).to_have_count(4)
    assert small.evaluate("() => window.scrollY") == 240
    assert first_card.evaluate("card => card.isConnected")  # the same element, patched
