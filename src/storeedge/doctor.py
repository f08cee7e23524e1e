"""`storeedge doctor`: checks hardware, broker, clock and disk, and says what to fix.

Each check prints one line: ``ok``, ``warn`` or ``FAIL``, what was found and,
when not ok, what to do. Exit status 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from storeedge.core.presence import door_order
from storeedge.core.settings import Settings, radios
from storeedge.ops.checks import (
    SECRETS,
    Finding,
    become_service_user,
    check_bluez,
    check_broker,
    check_calibration,
    check_power,
    load_secrets,
)
from storeedge.ops.radios import adapters, resolve_adapter

__all__ = ["Finding", "check_broker", "diagnose", "register"]

MIN_FREE_BYTES = 200 * 1024 * 1024
WARN_FREE_BYTES = 1024 * 1024 * 1024
EARLIEST_SANE_TIME = 1735689600  # 2025-01-01: a Pi without RTC boots in 1970 until NTP syncs
SYS_BLUETOOTH = Path("/sys/class/bluetooth")


def check_staff_pin(settings: Settings) -> Iterator[Finding]:
    """The staff console asks for the store PIN only when its hash is configured."""
    if settings.web.staff_pin_hash:
        yield Finding("ok", f"staff PIN set; a sign-in lasts {settings.web.staff_shift_h:g} h")
        return
    yield Finding(
        "warn",
        "no staff PIN: the staff console is unprotected (served on loopback only)",
        "sudo storeedge staff-pin --write /etc/storeedge/secrets.env (or staff_pin_hash_file)",
    )


def check_disk(settings: Settings) -> Iterator[Finding]:
    directory = settings.data.dir
    probe = directory / ".doctor-probe"
    try:
        probe.write_bytes(b"x")
        probe.unlink()
    except OSError as exc:
        yield Finding(
            "FAIL",
            f"data dir {directory} is not writable ({exc.strerror})",
            f"chown storeedge: {directory} (the service user must own it)",
        )
        return
    free = shutil.disk_usage(directory).free
    mib = free // (1024 * 1024)
    if free < MIN_FREE_BYTES:
        yield Finding(
            "FAIL", f"only {mib} MiB free under {directory}", "free space or grow the disk"
        )
    elif free < WARN_FREE_BYTES:
        yield Finding("warn", f"{mib} MiB free under {directory}", "aim for at least 1 GiB")
    else:
        yield Finding("ok", f"data dir {directory} writable, {mib} MiB free")


def _ntp_synchronised() -> bool | None:
    timedatectl = shutil.which("timedatectl")
    if timedatectl is None:
        return None
    try:
        done = subprocess.run(
            [timedatectl, "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=3,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.strip()
    return {"yes": True, "no": False}.get(value)


def check_clock(now: Callable[[], float] = time.time) -> Iterator[Finding]:
    if now() < EARLIEST_SANE_TIME:
        yield Finding(
            "FAIL",
            "system clock is before 2025: EIDs and consent expiry cannot be judged",
            "enable NTP (timedatectl set-ntp true) and check the network reaches a time server",
        )
        return
    synced = _ntp_synchronised()
    if synced is False:
        yield Finding(
            "warn",
            "clock is not NTP-synchronised (EIDs tolerate one window of skew)",
            "timedatectl set-ntp true",
        )
    else:
        yield Finding("ok", "system clock plausible" + (", NTP synchronised" if synced else ""))


def check_bluetooth(settings: Settings, sys_root: Path = SYS_BLUETOOTH) -> Iterator[Finding]:
    wanted = sorted({s.radio for s in settings.scanners})
    if not wanted:
        yield Finding("warn", "no [[scanners]] configured: nobody can be recognised by BLE")
        return
    present = adapters(sys_root)
    for adapter in wanted:
        hci = resolve_adapter(adapter, sys_root)
        if hci in present:
            also = present[hci] if hci == adapter else hci
            yield Finding("ok", f"BLE adapter {adapter} present ({also})")
            if adapter == hci and len(present) > 1:
                yield Finding(
                    "warn",
                    f"adapter {adapter}: hciN numbers change across reboots with several radios",
                    f'name it by its port: adapter = "{present[hci]}"',
                )
        else:
            found = ", ".join(f"{h} ({n})" for h, n in present.items()) or "none"
            yield Finding(
                "FAIL",
                f"BLE adapter {adapter} not found (present: {found})",
                "plug in the dongle or enable the built-in radio (rfkill unblock bluetooth); "
                "the service keeps running and retries meanwhile",
            )


def check_door(settings: Settings) -> Iterator[Finding]:
    """How the door is watched: the number and order of entrance receivers, shared radios."""
    for ignored, first in radios(settings.scanners)[1]:
        yield Finding(
            "warn",
            f"scanners {first.id} and {ignored.id} share adapter {ignored.radio}: "
            f"{ignored.id} is ignored",
            "give each [[scanners]] entry its own adapter (one radio per receiver)",
        )
    entrances = [s for s in settings.scanners if s.role == "entrance"]
    pair_fix = (
        "install a second entrance receiver 2.5 m further in on the walking line "
        '(role = "entrance"); docs/presence.md gives the figures'
    )
    if not entrances:
        yield Finding(
            "warn",
            "no entrance receiver: arrivals come late from in-store levels, and departures "
            "are decided by silence alone",
            pair_fix,
        )
        return
    if len(entrances) == 1:
        yield Finding(
            "warn",
            f"one entrance receiver ({entrances[0].id}): slower arrivals and more false "
            "departures than with the door pair",
            pair_fix,
        )
        return
    order = door_order(entrances, settings.store.door)
    located = settings.store.door is not None and all(s.position for s in entrances)
    if not located:
        yield Finding(
            "warn",
            f"door receivers taken in configuration order: {order[0]} at the door, "
            f"{order[1]} inside",
            "set store.door and each entrance receiver's position, or list the one at the "
            "door first",
        )
        return
    door = settings.store.door
    assert door is not None  # NB: located
    by_id = {s.id: s for s in entrances}
    outer, inner = (by_id[i].position or door for i in order[:2])
    spacing = math.dist(door, inner) - math.dist(door, outer)
    if spacing < 1.5:
        yield Finding(
            "warn",
            f"door receivers {order[0]} and {order[1]} are only {spacing:.1f} m apart "
            "along the way in",
            "move the inner one 2.5 m further in on the walking line",
        )
    else:
        yield Finding("ok", f"door pair: {order[0]} at the door, {order[1]} {spacing:.1f} m in")


def check_qr_scanners(settings: Settings) -> Iterator[Finding]:
    for scanner in settings.qr_scanners:
        if scanner.kind in ("simulated", "camera") or scanner.device is None:
            continue
        device = Path(scanner.device)
        if device.exists():
            yield Finding("ok", f"QR scanner {scanner.id} at {device}")
        else:
            yield Finding(
                "FAIL",
                f"QR scanner {scanner.id}: {device} does not exist",
                "plug the scanner in; check devices/udev rules and `ls /dev/input/by-id`",
            )


def diagnose(settings: Settings) -> list[Finding]:
    findings: list[Finding] = [Finding("ok", f"config {settings.source} valid")]
    checks = (check_disk, check_broker, check_bluetooth, check_door, check_qr_scanners)
    for check in (*checks, check_staff_pin):
        findings.extend(check(settings))
    findings.extend(check_bluez())
    findings.extend(check_calibration(settings))
    findings.extend(check_clock())
    findings.extend(check_power())
    return findings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="check hardware, broker, clock and disk, and say what to fix",
        description="Runs the checks a technician would, one line each. "
        "Exit status 0 when nothing failed.",
    )
    doctor.add_argument("--config", type=Path, required=True, help="TOML configuration file")
    doctor.add_argument(
        "--secrets",
        type=Path,
        default=SECRETS,
        help=f"environment file with the MQTT password (default {SECRETS}, if readable)",
    )
    doctor.set_defaults(handler=_cmd_doctor)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from storeedge.config import load_or_exit

    # NB: secrets first (root may read them), then the service's identity, then the config:
    # checks as root would create the data dir owned by root and hide permission faults.
    load_secrets(args.secrets)
    who = become_service_user()
    findings = [*([who] if who else []), *diagnose(load_or_exit(args.config))]
    for finding in findings:
        print(finding.line())  # noqa: T201  # the CLI's own output
    failed = sum(f.level == "FAIL" for f in findings)
    print(f"{failed} problem(s) to fix" if failed else "all checks passed")  # noqa: T201
    return 1 if failed else 0
