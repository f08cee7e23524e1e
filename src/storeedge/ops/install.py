"""`storeedge install`, `upgrade` and `rollback`: a box laid out in one command.

Layout (under ``--root``, ``/`` on a real box)::

    /opt/storeedge/releases/<version>/   one venv per release, the wheel installed in it
    /opt/storeedge/current  -> releases/<version>     what the units run
    /opt/storeedge/previous -> releases/<older>       what a rollback returns to
    /etc/storeedge/storeedge.toml        the store's config (from the example, kept on upgrade)
    /etc/storeedge/secrets.env           0600, MQTT password and staff PIN hash
    /etc/systemd/system/storeedge*.service, /etc/udev/rules.d/99-storeedge-*.rules
    /etc/bluetooth/main.conf             Experimental (passive scanning) and the LE scan window

An upgrade installs the new release beside the running one, switches ``current``,
and runs the readiness check: on a box, ``systemctl restart storeedge`` (which
returns once the service said READY=1, or failed) and ``/healthz`` answering. A
failed check switches back and restarts the previous release. In a throwaway
``--root`` (tests, images) nothing on the host is touched: no users, no
``systemctl`` except ``--root`` enabling, and the check imports the release.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from storeedge.ops import sysfiles

_LOGGER = logging.getLogger(__name__)

KEEP_RELEASES: Final = 3
HEALTH_URL: Final = "http://127.0.0.1:8080/healthz"
READY_WAIT_S: Final = 90.0

Check = Callable[["Box", Path], str | None]  # None when ready, else why not


class InstallError(Exception):
    """An install step failed; the message says which and what to do."""


@dataclass(frozen=True)
class Box:
    root: Path
    python: str = sys.executable
    pip_args: tuple[str, ...] = ()

    @property
    def on_host(self) -> bool:
        return self.root.resolve() == Path("/")

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    @property
    def releases(self) -> Path:
        return self.path("/opt/storeedge/releases")

    @property
    def current(self) -> Path:
        return self.path("/opt/storeedge/current")

    @property
    def previous(self) -> Path:
        return self.path("/opt/storeedge/previous")

    def release_of(self, link: Path) -> Path | None:
        return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def wheel_version(wheel: Path) -> str:
    parts = wheel.name.split("-")
    if len(parts) < 5 or not wheel.name.endswith(".whl") or parts[0] != "storeedge":
        raise InstallError(f"{wheel}: expected a storeedge wheel (storeedge-VERSION-...whl)")
    return parts[1]


def _run(cmd: Sequence[str], what: str, timeout: float = 900) -> None:
    _LOGGER.info("%s: %s", what, " ".join(cmd))
    try:
        done = subprocess.run(
            list(cmd), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise InstallError(f"{what} failed (exit {done.returncode}): " + " | ".join(tail))


def make_release(box: Box, wheel: Path) -> Path:
    """A fresh venv with the wheel in it; an existing one of the same version is redone."""
    version = wheel_version(wheel)
    release = box.releases / version
    if box.release_of(box.current) == release.resolve():
        raise InstallError(f"release {version} is the one running: nothing to do")
    shutil.rmtree(release, ignore_errors=True)  # NB: a half-built one from a failed try
    box.releases.mkdir(parents=True, exist_ok=True)
    try:
        _run([box.python, "-m", "venv", str(release)], f"venv for {version}")
        pip = [str(release / "bin" / "python"), "-m", "pip", "install", "--no-input", "--quiet"]
        _run([*pip, *box.pip_args, str(wheel)], f"install {wheel.name}")
    except InstallError:
        shutil.rmtree(release, ignore_errors=True)
        raise
    return release


def _switch(link: Path, target: Path | None) -> None:
    """Points ``link`` at ``target`` atomically (rename of a fresh symlink); None removes it."""
    if target is None:
        link.unlink(missing_ok=True)
        return
    fresh = link.with_name(f".{link.name}.new")
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(os.path.relpath(target, link.parent))
    fresh.replace(link)


# --- checks ----------------------------------------------------------------------------------


def import_check(_box: Box, release: Path) -> str | None:
    """The release's own Python imports the whole service and its command line answers."""
    py = str(release / "bin" / "python")
    for cmd in ([py, "-c", "import storeedge.app, storeedge.ops.kiosk"],
                [str(release / "bin" / "storeedge"), "--version"]):  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return lines[-1] if lines else f"{cmd[0]} exited {done.returncode}"
    return None


def service_check(box: Box, release: Path) -> str | None:
    """On a box: restart the service (Type=notify: returns after READY=1) and ask /healthz."""
    problem = import_check(box, release)
    if problem:
        return problem
    done = subprocess.run(
        [shutil.which("systemctl") or "/usr/bin/systemctl", "restart", "storeedge.service"],
        capture_output=True, text=True, timeout=READY_WAIT_S + 30, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return f"storeedge.service did not become ready: {done.stderr.strip()}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(HEALTH_URL, timeout=3):  # NB: fixed loopback URL
                return None
        except urllib.error.HTTPError as exc:
            if exc.code == 503:  # NB: up but degraded (broker away) still serves the store
                return None
        except OSError:
            pass
        time.sleep(1)
    return "/healthz did not answer within 30 s"


def default_check(box: Box) -> Check:
    return service_check if box.on_host else import_check


# --- the three commands -------------------------------------------------------------------------


def install(box: Box, wheel: Path, check: Check | None = None) -> Path:
    """First install (or a repair): files, users, units; then the release as an upgrade;
    on a box, then the box's own kiosk screen enrolled (its browser opens the URL once)."""
    sysfiles.lay_out(box.root, box.on_host)
    release = upgrade(box, wheel, check, first=True)
    if box.on_host:
        why = sysfiles.enrol_own_screen(box.root, release, box.on_host)
        if why:
            _LOGGER.warning(
                "the box's own screen is not enrolled (%s): see docs/operations.md", why
            )
    return release


def upgrade(box: Box, wheel: Path, check: Check | None = None, *, first: bool = False) -> Path:
    running = box.release_of(box.current)
    if running is None and not first:
        raise InstallError("no release installed here: run `storeedge install` first")
    release = make_release(box, wheel)
    sysfiles.refresh_units(box.root, release, box.on_host)
    _switch(box.current, release)
    problem = (check or default_check(box))(box, release)
    if problem is None:
        if running is not None:
            _switch(box.previous, running)
        _prune(box)
        if box.on_host:  # NB: the screen runs the release's launcher: restart it too
            sysfiles.host_command(["systemctl", "try-restart", "storeedge-kiosk.service"])
        _LOGGER.info("release %s is current", release.name)
        return release
    _LOGGER.error("release %s failed its readiness check: %s", release.name, problem)
    _switch(box.current, running)
    if running is not None:
        back = (check or default_check(box))(box, running)
        if back:
            _LOGGER.error("the previous release %s is not ready either: %s", running.name, back)
    shutil.rmtree(release, ignore_errors=True)
    kept = running.name if running else "none"
    raise InstallError(f"release {release.name} not ready ({problem}); kept {kept}")


def rollback(box: Box, check: Check | None = None) -> Path:
    running, previous = box.release_of(box.current), box.release_of(box.previous)
    if previous is None:
        raise InstallError("no previous release to return to")
    _switch(box.current, previous)
    problem = (check or default_check(box))(box, previous)
    if problem is not None:
        _switch(box.current, running)
        raise InstallError(f"release {previous.name} not ready ({problem}); kept {running}")
    _switch(box.previous, running)
    _LOGGER.info("rolled back to %s", previous.name)
    return previous


def _prune(box: Box) -> None:
    keep = {p for p in (box.release_of(box.current), box.release_of(box.previous)) if p}
    releases = sorted(
        (p for p in box.releases.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    for old in releases[: max(0, len(releases) - KEEP_RELEASES)]:
        if old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)
