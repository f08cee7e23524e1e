"""Helpers for the personal-space tests: a kiosk with its own QR scanner, Jean's codes,
this store's catalog. Built on webharness's real core loop, pipeline and web app."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from webharness import SECOND_KIOSK, Stack

from storeedge.config import Settings
from storeedge.core.catalog import parse_product
from storeedge.core.qr import totp
from storeedge.simulators.demo_data import CATALOG

# kiosk-1's own reader (a simulated kind: the test types into it through the gateway)
KIOSK_QR = """
[[qr_scanners]]
id = "kiosk-qr"
kind = "simulated"
zone = "kiosk"
kiosk = "kiosk-1"
"""


def member_code(profile: dict[str, Any], now: float) -> str:
    """The member card the app shows at ``now`` (CONTRACTS 5)."""
    secret = base64.b32decode(profile["qr"]["totp_secret"])
    code = totp(secret, now, profile["qr"]["period"], profile["qr"]["digits"])
    return f"SE1:M:{profile['customer_id']}:{code}"


def catalog() -> dict[str, dict[str, Any]]:
    return {sku: parse_product(sku, raw) for sku, raw in CATALOG.items()}


def scan(stack: Stack, profile: dict[str, Any], text: str | None = None) -> str | None:
    """A code typed by kiosk-1's reader; returns the refusal reason (None: accepted)."""
    return stack.gateway.qr_scanned("kiosk-qr", text or member_code(profile, stack.clock.now()))


def next_code(stack: Stack, profile: dict[str, Any]) -> str:
    """A fresh, unused code: the clock moves to the next TOTP step."""
    stack.clock.advance(profile["qr"]["period"])
    return member_code(profile, stack.clock.now())


def tick(stack: Stack, seconds: float = 0.0) -> None:
    stack.clock.advance(seconds)
    stack.core.call(stack.pipeline.tick)


@pytest.fixture
def kiosk_settings(make_settings: Callable[..., Settings]) -> Settings:
    settings = make_settings(extra=SECOND_KIOSK + KIOSK_QR)
    return dataclasses.replace(
        settings, store=dataclasses.replace(settings.store, name="Maison Lumière")
    )


@pytest.fixture
def kstack(kiosk_settings: Settings, make_stack: Callable[..., Stack]) -> Stack:
    """kiosk-1 with its reader, kiosk-2 on the floor, Jean's profile, the demo catalog."""
    stack = make_stack(kiosk_settings)
    stack.gateway.load_catalog(catalog())
    return stack
