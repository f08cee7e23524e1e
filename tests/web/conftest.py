"""Fixtures for the web tests: a real core loop + pipeline + web app around Jean."""

# NB: the fixtures live in webharness (and kioskkit) so the browser tests can share them.
from kioskkit import kiosk_settings, kstack
from webharness import make_stack, pin_settings, stack, web_settings

__all__ = ["kiosk_settings", "kstack", "make_stack", "pin_settings", "stack", "web_settings"]
