"""`storeedge doctor`: checks hardware, broker, clock and disk, and says what to fix.

Each check prints one line: ``ok``, ``warn`` or ``FAIL``, what was found and,
when not ok, what to do. Exit status 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from storeedge.config import Settings, radios
from storeedge.core.presence import door_order

MIN_FREE_BYTES = 200 * 1024 * 1024
WARN_FREE_BYTES = 1024 * 1024 * 1024
EARLIEST_SANE_TIME = 1735689600  # 2025-01-01: a Pi without RTC boots in 1970 until NTP syncs
SYS_BLUETOOTH = Path("/sys/class/bluetooth")


@dataclass(frozen=True)
class Finding:
    level: str  # ok | warn | FAIL
    what: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.level:<4} {self.what}"
        return f"{text}\n     fix: {self.fix}" if self.fix else text


def check_staff_pin(settings: Settings) -> Iterator[Finding]:
    """The staff console asks for the store PIN only when its hash is configured."""
    if settings.web.staff_pin_hash:
        yield Finding("ok", f"staff PIN set; a sign-in lasts {settings.web.staff_shift_h:g} h")
        return
    yield Finding(
        "warn",
        "no staff PIN: the staff console is unprotected (served on loopback only)",
        "set [web] staff_pin_hash_file (or STOREEDGE_STAFF_PIN_HASH) to a werkzeug hash",
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


def check_broker(settings: Settings, timeout: float = 3.0) -> Iterator[Finding]:
    mqtt = settings.mqtt
    where = f"{mqtt.host}:{mqtt.port}"
    try:
        raw = socket.create_connection((mqtt.host, mqtt.port), timeout=timeout)
    except OSError as exc:
        yield Finding(
            "FAIL",
            f"broker {where} unreachable ({exc.strerror or exc})",
            "check [mqtt] host/port, DNS, and that the store firewall allows it",
        )
        return
    with raw:
        if not mqtt.tls:
            yield Finding("warn", f"broker {where} reachable WITHOUT TLS (tls = false)")
            return
        context = ssl.create_default_context(cafile=str(mqtt.ca_file) if mqtt.ca_file else None)
        if mqtt.cert_file is not None:
            context.load_cert_chain(str(mqtt.cert_file), str(mqtt.key_file or mqtt.cert_file))
        try:
            with context.wrap_socket(raw, server_hostname=mqtt.host) as tls:
                yield Finding("ok", f"broker {where} reachable, TLS {tls.version()} verified")
        except ssl.SSLError as exc:
            yield Finding(
                "FAIL",
                f"TLS to {where} failed: {exc.reason or exc}",
                "check [mqtt] ca_file matches central's CA, and the host name in the config",
            )
        except OSError as exc:
            yield Finding("FAIL", f"TLS to {where} failed: {exc}", "check the broker's TLS port")


def check_bluetooth(settings: Settings, sys_root: Path = SYS_BLUETOOTH) -> Iterator[Finding]:
    wanted = sorted({s.radio for s in settings.scanners})
    if not wanted:
        yield Finding("warn", "no [[scanners]] configured: nobody can be recognised by BLE")
        return
    present = {p.name for p in sys_root.iterdir()} if sys_root.is_dir() else set()
    for adapter in wanted:
        if adapter in present:
            yield Finding("ok", f"BLE adapter {adapter} present")
        else:
            yield Finding(
                "FAIL",
                f"BLE adapter {adapter} not found",
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
    findings.extend(check_clock())
    return findings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="check hardware, broker, clock and disk, and say what to fix",
        description="Runs the checks a technician would, one line each. "
        "Exit status 0 when nothing failed.",
    )
    doctor.add_argument("--config", type=Path, required=True, help="TOML configuration file")
    doctor.set_defaults(handler=_cmd_doctor)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from storeedge.config import load_or_exit

    findings = diagnose(load_or_exit(args.config))
    for finding in findings:
        print(finding.line())  # noqa: T201  # the CLI's own output
    failed = sum(f.level == "FAIL" for f in findings)
    print(f"{failed} problem(s) to fix" if failed else "all checks passed")  # noqa: T201
    return 1 if failed else 0
