"""Stable adapter names from a sysfs tree laid out as a Pi 4's (symlinks as the kernel makes)."""

from __future__ import annotations

from pathlib import Path

from storeedge.ops.radios import adapters, resolve_adapter, stable_name

USB = "devices/platform/scb/fd500000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0/usb1/1-1"


def fake_sys(root: Path, layout: dict[str, str]) -> Path:
    cls = root / "class/bluetooth"
    cls.mkdir(parents=True)
    for hci, device in layout.items():
        target = root / device / "bluetooth" / hci
        target.mkdir(parents=True)
        (cls / hci).symlink_to(target)
    return cls


def test_dongles_are_named_by_port_and_follow_renumbering(tmp_path: Path) -> None:
    boot1 = fake_sys(tmp_path / "a", {
        "hci0": "devices/platform/soc/fe201000.serial/serial0/serial0-0",
        "hci1": f"{USB}/1-1.2/1-1.2:1.0",
        "hci2": f"{USB}/1-1.3/1-1.3:1.0",
    })  # fmt: skip
    assert adapters(boot1) == {"hci0": "builtin", "hci1": "usb-1-1.2", "hci2": "usb-1-1.3"}
    # Next boot the two dongles probe in the other order: their port names do not move.
    boot2 = fake_sys(tmp_path / "b", {
        "hci0": "devices/platform/soc/fe201000.serial/serial0/serial0-0",
        "hci1": f"{USB}/1-1.3/1-1.3:1.0",
        "hci2": f"{USB}/1-1.2/1-1.2:1.0",
    })  # fmt: skip
    assert resolve_adapter("usb-1-1.2", boot1) == "hci1"
    assert resolve_adapter("usb-1-1.2", boot2) == "hci2"
    assert resolve_adapter("builtin", boot2) == "hci0"
    assert resolve_adapter("hci7", boot2) == "hci7"
    assert resolve_adapter("usb-1-1.4", boot2) == "usb-1-1.4"  # absent: retried until plugged


def test_stable_name_of_a_path() -> None:
    assert stable_name("/sys/devices/x/usb1/1-1/1-1.4/1-1.4:1.0/bluetooth/hci3") == "usb-1-1.4"
    assert stable_name("/sys/devices/platform/soc/serial0-0/bluetooth/hci0") == "builtin"
    assert adapters(Path("/nonexistent")) == {}
