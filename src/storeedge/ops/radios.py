"""Stable names for Bluetooth adapters: by USB port, not by probe order.

``hciN`` follows the order the kernel probed the controllers in, which changes
across reboots when several dongles are plugged in. A dongle's USB port does not:
``[[scanners]] adapter = "usb-1-1.2"`` names the dongle in port ``1-1.2`` whatever
its ``hciN`` this boot, and ``adapter = "builtin"`` the Pi's own radio (on the UART
or SDIO, not USB). ``hciN`` still works. ``storeedge doctor`` lists each adapter
with both names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

SYS_BLUETOOTH: Final = Path("/sys/class/bluetooth")
BUILTIN: Final = "builtin"
_HCI: Final = re.compile(r"^hci\d+$")
_USB_PORT: Final = re.compile(r"/(\d+-[\d.]+):\d+\.\d+/bluetooth/hci\d+$")


def stable_name(device_path: str) -> str:
    """``.../1-1.2/1-1.2:1.0/bluetooth/hci1`` -> ``usb-1-1.2``; not on USB -> ``builtin``."""
    found = _USB_PORT.search(device_path)
    return f"usb-{found.group(1)}" if found else BUILTIN


def adapters(sys_root: Path = SYS_BLUETOOTH) -> dict[str, str]:
    """``{"hci0": "builtin", "hci1": "usb-1-1.2", ...}`` for the controllers present now."""
    if not sys_root.is_dir():
        return {}
    found: dict[str, str] = {}
    for entry in sorted(sys_root.iterdir()):
        if _HCI.match(entry.name):
            found[entry.name] = stable_name(str(entry.resolve()))
    return found


def resolve_adapter(name: str, sys_root: Path = SYS_BLUETOOTH) -> str:
    """The ``hciN`` serving ``name`` this boot; ``name`` itself when it is one, or is absent.

    # NB: an absent dongle resolves to its own name, which BlueZ does not know: the
    # scanner then fails, is reported unhealthy and retried, and resolves once plugged in.
    """
    if _HCI.match(name):
        return name
    for hci, stable in adapters(sys_root).items():
        if stable == name:
            return hci
    return name
