"""The files and accounts a box needs besides the release: config, secrets, units, rules.

Everything here is idempotent: a second install changes nothing the technician
edited (config, secrets, kiosk settings) and brings the shipped files up to date.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
import tomllib
from importlib import resources
from pathlib import Path
from typing import Final

_LOGGER = logging.getLogger(__name__)

SERVICE_USER: Final = "storeedge"
KIOSK_USER: Final = "kiosk"
# NB: logind hands cage the screen and touch; the groups are for boxes where it cannot
# (no seat on a headless-configured Pi OS Lite) and for the GPU render node.
KIOSK_GROUPS: Final = ("video", "render", "input")
UNITS: Final = ("storeedge.service", "storeedge-kiosk.service")
RULES: Final = ("99-storeedge-bluetooth.rules", "99-storeedge-qr-scanners.rules")

SECRETS_TEMPLATE: Final = """\
# storeedge secrets, read by systemd (EnvironmentFile), mode 0600 root.
# The MQTT password central gave for this edge:
#STOREEDGE_MQTT_PASSWORD=
# The staff PIN hash: `sudo storeedge staff-pin --write /etc/storeedge/secrets.env`
#STOREEDGE_STAFF_PIN_HASH=
"""
KIOSK_ENV_TEMPLATE: Final = """\
# The kiosk screen (storeedge-kiosk.service). Rotation: 0, 90, 180 or 270 (touch follows).
#STOREEDGE_KIOSK_ROTATE=90
#STOREEDGE_KIOSK_URL=http://127.0.0.1:8080/
#STOREEDGE_KIOSK_ID=kiosk-1
"""
# BlueZ: passive scanning needs the experimental advertisement monitors on 5.56-5.6x;
# a scan window equal to its interval listens all the time (devices/bluez-main.conf.md).
BLUEZ: Final = (
    ("General", "Experimental", "true"),
    ("LE", "ScanIntervalDiscovery", "0x0060"),
    ("LE", "ScanWindowDiscovery", "0x0060"),
    ("LE", "ScanIntervalSuspend", "0x0060"),
    ("LE", "ScanWindowSuspend", "0x0060"),
)


def share_dir() -> Path:
    """The shipped files: inside the wheel (storeedge/share), or the source tree in a checkout."""
    packaged = Path(str(resources.files("storeedge"))) / "share"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3]  # NB: editable install: the repository root


def _shipped(share: Path, name: str) -> Path:
    """A shipped file by its place in the repository (the wheel flattens some)."""
    candidates = {
        "unit": [share / "systemd" / name],
        "rule": [share / "devices" / name],
        "example": [share / "example-store.toml", share / "config" / "example-store.toml"],
    }
    kind = "unit" if name.endswith(".service") else "rule" if name.endswith(".rules") else name
    for path in candidates[kind]:
        if path.is_file():
            return path
    raise FileNotFoundError(f"shipped file {name} not found under {share}")


def _write(path: Path, data: str, mode: int, *, keep: bool = False) -> bool:
    if keep and path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(data)
    fresh.chmod(mode)  # NB: the umask must not loosen or tighten what we asked for
    fresh.replace(path)
    return True


def _chown(path: Path, user: str, group: str | None, on_host: bool) -> None:
    if on_host:
        shutil.chown(path, user, group or user)


def set_ini(text: str, section: str, key: str, value: str) -> str:
    """Sets ``key = value`` in ``[section]`` of an INI text, keeping every other line."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == f"[{section}]"), None)
    if start is None:
        return "\n".join([*lines, "", f"[{section}]", f"{key} = {value}"]) + "\n"
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("[")), len(lines)
    )
    for i in range(start + 1, end):
        bare = lines[i].lstrip("#; ").split("=", 1)[0].strip()
        if bare == key and "=" in lines[i]:
            lines[i] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    lines.insert(end, f"{key} = {value}")
    return "\n".join(lines) + "\n"


def _host(cmd: list[str], on_host: bool) -> None:
    if not on_host:
        _LOGGER.info("throwaway root: not run: %s", " ".join(cmd))
        return
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        _LOGGER.warning("%s: exit %s: %s", " ".join(cmd), done.returncode, done.stderr.strip())


def host_command(cmd: list[str]) -> None:
    """Runs a command on the host (a real install), logging a failure instead of raising."""
    _host(cmd, on_host=True)


def ensure_users(on_host: bool) -> None:
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        _host(["useradd", "--system", "--user-group", "--home-dir", "/var/lib/storeedge",
               "--shell", "/usr/sbin/nologin", SERVICE_USER], on_host)  # fmt: skip
    _host(["groupadd", "--system", "-f", "bluetooth"], on_host)
    _host(["usermod", "-a", "-G", "bluetooth", SERVICE_USER], on_host)
    try:
        pwd.getpwnam(KIOSK_USER)
    except KeyError:
        _host(["useradd", "--system", "--user-group", "--home-dir", "/var/lib/storeedge-kiosk",
               "--shell", "/usr/sbin/nologin", KIOSK_USER], on_host)  # fmt: skip
    for group in KIOSK_GROUPS:
        _host(["usermod", "-a", "-G", group, KIOSK_USER], on_host)


def lay_out(root: Path, on_host: bool) -> None:
    """Users, /etc/storeedge, the data directory, udev rules, BlueZ, boot settings."""
    share = share_dir()
    ensure_users(on_host)
    etc = root / "etc/storeedge"
    etc.mkdir(parents=True, exist_ok=True)
    etc.chmod(0o750)  # NB: group storeedge reads the config, others nothing
    _chown(etc, "root", SERVICE_USER, on_host)
    example = _shipped(share, "example").read_text(encoding="utf-8")
    if _write(etc / "storeedge.toml", example, 0o640, keep=True):
        _LOGGER.info("wrote %s from the example: edit it for this store", etc / "storeedge.toml")
    _chown(etc / "storeedge.toml", "root", SERVICE_USER, on_host)
    _write(etc / "secrets.env", SECRETS_TEMPLATE, 0o600, keep=True)
    _write(etc / "kiosk.env", KIOSK_ENV_TEMPLATE, 0o644, keep=True)
    data = root / "var/lib/storeedge"
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o750)  # NB: the service's group only, as StateDirectoryMode
    _chown(data, SERVICE_USER, SERVICE_USER, on_host)
    for rule in RULES:
        text = _shipped(share, rule).read_text(encoding="utf-8")
        _write(root / "etc/udev/rules.d" / rule, text, 0o644)
    _host(["udevadm", "control", "--reload"], on_host)
    # NB: rules apply to devices as they appear; trigger re-applies them to those plugged in.
    _host(["udevadm", "trigger", "--subsystem-match=bluetooth", "--subsystem-match=usb",
           "--subsystem-match=input", "--subsystem-match=tty"], on_host)  # fmt: skip
    configure_bluez(root / "etc/bluetooth/main.conf")
    _host(["systemctl", "try-restart", "bluetooth.service"], on_host)
    configure_boot(root)


def configure_bluez(main_conf: Path) -> None:
    text = main_conf.read_text(encoding="utf-8") if main_conf.exists() else ""
    original = text
    for section, key, value in BLUEZ:
        text = set_ini(text, section, key, value)
    if text != original:
        if original and not main_conf.with_suffix(".conf.storeedge-orig").exists():
            _write(main_conf.with_suffix(".conf.storeedge-orig"), original, 0o644)
        _write(main_conf, text, 0o644)


def configure_boot(root: Path) -> None:
    """No console blanking on a Pi (the kiosk screen must not go black after 10 min)."""
    for cmdline in (root / "boot/firmware/cmdline.txt", root / "boot/cmdline.txt"):
        if cmdline.is_file():
            words = cmdline.read_text(encoding="utf-8").split()
            if "consoleblank=0" not in words:
                _write(cmdline, " ".join([*words, "consoleblank=0"]) + "\n", 0o755)
            return


KIOSK_STATE: Final = "/var/lib/storeedge-kiosk"


def first_kiosk(config: Path, kiosk_env: Path) -> str | None:
    """The kiosk the box's own screen shows: STOREEDGE_KIOSK_ID, else the first [[kiosks]]."""
    try:
        for line in kiosk_env.read_text(encoding="utf-8").splitlines():
            key, _, value = line.strip().partition("=")
            if key == "STOREEDGE_KIOSK_ID" and value.strip("'\""):
                return value.strip("'\"")
    except OSError:
        pass
    try:
        kiosks = tomllib.loads(config.read_text(encoding="utf-8")).get("kiosks", [])
    except (OSError, tomllib.TOMLDecodeError):
        return None
    first = kiosks[0] if isinstance(kiosks, list) and kiosks else None
    kiosk_id = first.get("id") if isinstance(first, dict) else None
    return kiosk_id if isinstance(kiosk_id, str) else None


def hand_enrol_url(root: Path, url: str, on_host: bool) -> Path:
    """Leaves a one-time URL where the kiosk launcher opens it once (then deletes it)."""
    state = root / KIOSK_STATE.lstrip("/")
    state.mkdir(parents=True, exist_ok=True)
    _chown(state, KIOSK_USER, KIOSK_USER, on_host)
    path = state / "enrol-url"
    _write(path, url + "\n", 0o600)
    _chown(path, KIOSK_USER, KIOSK_USER, on_host)
    return path


def enrol_own_screen(root: Path, release: Path, on_host: bool) -> str | None:
    """On a box whose service runs: enrols its own kiosk screen; returns why not, if not."""
    config, env = root / "etc/storeedge/storeedge.toml", root / "etc/storeedge/kiosk.env"
    kiosk_id = first_kiosk(config, env)
    if kiosk_id is None:
        return "no [[kiosks]] in the config"
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    cmd = [runuser, "-u", SERVICE_USER, "--", str(release / "bin" / "storeedge"), "kiosk-enrol",
           "--config", str(config), kiosk_id]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return (done.stderr or done.stdout).strip() or f"kiosk-enrol exited {done.returncode}"
    hand_enrol_url(root, lines[-1].strip(), on_host)
    _host(["systemctl", "try-restart", "storeedge-kiosk.service"], on_host)
    return None


def refresh_units(root: Path, release: Path, on_host: bool) -> None:
    """The release's units into /etc/systemd/system, enabled, the graphical target default."""
    share = share_dir()
    unit_dir = root / "etc/systemd/system"
    for unit in UNITS:
        _write(unit_dir / unit, _shipped(share, unit).read_text(encoding="utf-8"), 0o644)
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        _LOGGER.warning("systemctl not found: enable %s by hand", " ".join(UNITS))
        return
    where = [] if on_host else [f"--root={root}"]
    for args in (["enable", *UNITS], ["set-default", "graphical.target"]):
        done = subprocess.run(
            [systemctl, *where, *args], capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            _LOGGER.warning("systemctl %s: %s", " ".join(args), done.stderr.strip())
    if on_host:
        _host([systemctl, "daemon-reload"], on_host)
    _LOGGER.debug("units of %s in place", release.name)
