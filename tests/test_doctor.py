"""`storeedge doctor` says what is wrong and what to do, against real parts."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from storeedge.adapters.broker import PrivateMosquitto, free_port
from storeedge.config import Settings
from storeedge.doctor import (
    Finding,
    check_bluetooth,
    check_broker,
    check_clock,
    check_disk,
    check_door,
    diagnose,
)


def test_reachable_plaintext_broker_is_a_warning(
    mosquitto: PrivateMosquitto, make_settings: Callable[..., Settings]
) -> None:
    finding, login = check_broker(make_settings(port=mosquitto.port))
    assert finding.level == "warn"
    assert "WITHOUT TLS" in finding.what
    assert login.what == "MQTT login anonymously accepted"


def test_unreachable_broker_says_what_to_check(make_settings: Callable[..., Settings]) -> None:
    (finding,) = check_broker(make_settings(port=free_port()), timeout=1.0)
    assert finding.level == "FAIL"
    assert "[mqtt] host/port" in finding.fix


def test_tls_to_a_plaintext_port_fails_clearly(
    mosquitto: PrivateMosquitto, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(port=mosquitto.port)
    tls = settings.__class__(
        **{
            **settings.__dict__,
            "mqtt": settings.mqtt.__class__(host="127.0.0.1", port=mosquitto.port, tls=True),
        }
    )
    (finding,) = check_broker(tls, timeout=2.0)
    assert finding.level == "FAIL"
    assert "TLS" in finding.what


def test_missing_adapter_is_reported_with_a_fix(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    (tmp_path / "sys" / "hci1").mkdir(parents=True)
    findings = list(check_bluetooth(make_settings(), sys_root=tmp_path / "sys"))
    assert [f.level for f in findings] == ["FAIL"]
    assert "hci0" in findings[0].what
    assert "retries" in findings[0].fix


def test_disk_and_clock(make_settings: Callable[..., Settings]) -> None:
    (disk,) = check_disk(make_settings())
    assert disk.level in ("ok", "warn")
    (clock,) = check_clock(now=lambda: 0.0)
    assert clock.level == "FAIL"
    assert "NTP" in clock.fix


def test_diagnose_lists_every_area(make_settings: Callable[..., Settings]) -> None:
    whats = " ".join(f.what for f in diagnose(make_settings(port=free_port())))
    for area in ("config", "data dir", "broker", "BLE adapter", "clock"):
        assert area in whats


def test_cli_exit_status(
    mosquitto: PrivateMosquitto, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(port=mosquitto.port)
    done = subprocess.run(
        [sys.executable, "-m", "storeedge", "doctor", "--config", str(settings.source)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "broker 127.0.0.1" in done.stdout
    # No radio on a test machine: the adapter check fails, and says so.
    expected = 0 if Path("/sys/class/bluetooth/hci0").exists() else 1
    assert done.returncode == expected
    assert "Traceback" not in done.stderr


INNER = """
[[scanners]]
id = "entrance-in"
zone = "floor"
role = "entrance"
position = [10.0, {y}]
adapter = "hci1"
"""


def test_the_door_is_checked(make_settings: Callable[..., Settings]) -> None:
    def door(extra: str = "") -> list[Finding]:
        return [f for f in check_door(make_settings(extra=extra)) if "adapter" not in f.what]

    (single,) = door()  # NB: the base config has one entrance receiver
    assert single.level == "warn"
    assert "one entrance receiver" in single.what
    assert "2.5 m further in" in single.fix
    (pair,) = door(INNER.format(y=4.0))
    assert pair.level == "ok"
    assert pair.what == "door pair: entrance at the door, entrance-in 2.5 m in"
    (close,) = door(INNER.format(y=2.0))
    assert close.level == "warn"
    assert "0.5 m apart" in close.what


def test_receivers_sharing_a_radio_are_reported(make_settings: Callable[..., Settings]) -> None:
    # NB: the base config's three scanners all leave their adapter to the default
    shared = [f for f in check_door(make_settings()) if "adapter" in f.what]
    assert [f.what for f in shared] == [
        "scanners entrance and floor share adapter hci0: floor is ignored",
        "scanners entrance and kiosk share adapter hci0: kiosk is ignored",
    ]
