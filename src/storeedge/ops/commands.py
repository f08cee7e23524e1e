"""The technician's commands: `install`, `upgrade`, `rollback`, `staff-pin`.

Registered on the `storeedge` command line by :func:`register`; each prints what
it did and exits 0, or one line saying what failed and exits 1.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Final

from storeedge.ops.install import Box, InstallError, install, rollback, upgrade

PIN_DIGITS: Final = (4, 12)
PIN_KEY: Final = "STOREEDGE_STAFF_PIN_HASH"


def _say(line: str) -> None:
    print(line, flush=True)  # noqa: T201  # the CLI's own output


def _box(args: argparse.Namespace) -> Box:
    return Box(root=args.root, python=args.python, pip_args=tuple(args.pip_arg or ()))


def _cmd_install(args: argparse.Namespace) -> int:
    box = _box(args)
    if box.on_host and os.geteuid() != 0:
        _say("storeedge install: run it as root (sudo), or give --root DIR for a throwaway root")
        return 1
    try:
        release = (install if args.command == "install" else upgrade)(box, args.wheel.resolve())
    except InstallError as exc:
        _say(f"storeedge {args.command}: {exc}")
        return 1
    _say(f"storeedge {release.name} is current under {box.current}")
    if args.command == "install":
        _say(f"next: edit {box.path('/etc/storeedge/storeedge.toml')}, put the MQTT password in "
             f"{box.path('/etc/storeedge/secrets.env')}, then `storeedge staff-pin --write "
             f"/etc/storeedge/secrets.env` and `sudo systemctl restart storeedge`")  # fmt: skip
    return 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    box = _box(args)
    try:
        release = rollback(box)
    except InstallError as exc:
        _say(f"storeedge rollback: {exc}")
        return 1
    _say(f"storeedge {release.name} is current again")
    return 0


def valid_pin(pin: str) -> bool:
    return pin.isdigit() and pin.isascii() and PIN_DIGITS[0] <= len(pin) <= PIN_DIGITS[1]


def set_env_line(text: str, key: str, value: str) -> str:
    """Replaces (or appends) ``KEY='value'`` in an environment file, keeping other lines."""
    # NB: single quotes: systemd reads the value literally (a werkzeug hash holds '$').
    line = f"{key}='{value}'"
    lines = [ln for ln in text.splitlines() if not ln.lstrip("#").startswith(f"{key}=")]
    return "\n".join([*lines, line]) + "\n"


def _cmd_staff_pin(args: argparse.Namespace) -> int:
    from werkzeug.security import generate_password_hash

    # NB: prompted twice, never an argument: a PIN on the command line stays in the history.
    pin = getpass.getpass("new staff PIN (4-12 digits): ")
    if not valid_pin(pin):
        _say("storeedge staff-pin: a PIN is 4 to 12 digits")
        return 1
    if getpass.getpass("again: ") != pin:
        _say("storeedge staff-pin: the two PINs differ")
        return 1
    hashed = generate_password_hash(pin)
    if args.write is None:
        _say(f"{PIN_KEY}='{hashed}'")
        return 0
    path: Path = args.write
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    fresh = path.with_name(f".{path.name}.new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(set_env_line(text, PIN_KEY, hashed))
    fresh.replace(path)
    _say(f"staff PIN hash written to {path}; `sudo systemctl restart storeedge` applies it")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, text in (
        ("install", "lay out this box: release venv, users, config, units, udev, BlueZ"),
        ("upgrade", "install a new release beside the running one; roll back if not ready"),
    ):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--wheel", type=Path, required=True, help="the storeedge wheel")
        _root_options(cmd)
        cmd.set_defaults(handler=_cmd_install)
    back = sub.add_parser("rollback", help="return to the previous release")
    _root_options(back)
    back.set_defaults(handler=_cmd_rollback)
    pin = sub.add_parser(
        "staff-pin",
        help="prompt for the staff PIN and print (or write) its hash",
        description="Prompts twice for the staff PIN; prints STOREEDGE_STAFF_PIN_HASH=... "
        "or writes it into an environment file (mode 0600).",
    )
    pin.add_argument("--write", type=Path, default=None, help="e.g. /etc/storeedge/secrets.env")
    pin.set_defaults(handler=_cmd_staff_pin)


def _root_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--root", type=Path, default=Path("/"), help="install into this throwaway root (tests)"
    )
    cmd.add_argument("--python", default=sys.executable, help="the interpreter for release venvs")
    cmd.add_argument("--pip-arg", action="append", help="passed to pip (e.g. --pip-arg=--no-index)")
