"""Fixtures for the web tests: a real core loop + pipeline + web app around Jean."""

# NB: the fixtures live in webharness so the browser tests can share them.
from webharness import make_stack, pin_settings, stack, web_settings

__all__ = ["make_stack", "pin_settings", "stack", "web_settings"]
