"""Real Chromium (Debian's, never a downloaded one) driven by Playwright.

A missing chromium is a failure, not a skip: `make test` installs it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# NB: the web tests' harness (real core loop, pipeline and web app) is shared.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from kioskkit import kiosk_settings, kstack
from playwright.sync_api import Browser, Page, sync_playwright
from webharness import make_stack, pin_settings, stack, web_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

__all__ = ["kiosk_settings", "kstack", "make_stack", "pin_settings", "stack", "web_settings"]


# NB: module scope, not session: Playwright's sync API keeps an event loop running in
# the main thread while it lives, which would break every later test using asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def kiosk_page(browser: Browser) -> Iterator[Page]:
    """A landscape kiosk display."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="fr-FR")
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def tablet_page(browser: Browser) -> Iterator[Page]:
    """A staff tablet on the counter (landscape)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, device_scale_factor=1, locale="fr-FR"
    )
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
