"""The kiosk launcher: cage + Chromium, started once the service answers, watched by heartbeat.

``python -m storeedge.ops.kiosk`` is what ``storeedge-kiosk.service`` runs (as the
kiosk user, so it needs nothing but the standard library and this module):

1. It waits until the local service answers HTTP (no ``curl`` on the box: urllib).
2. It starts the compositor and the browser in their own process group.
3. Every few seconds it asks the service, on loopback, whether the kiosk page is
   connected (``storeedge_kiosk_connected`` in ``/metrics``: the page's Socket.IO
   client answers the service's ping every 10 s). A page that stays disconnected
   for ``grace`` seconds while the service answers has its browser stopped, and the
   launcher exits 1. A browser that exits on its own also ends the launcher with 1.
   systemd then starts a fresh one, at most ``StartLimitBurst`` times an hour.
4. While the service does not answer, nothing is restarted: the page shows its own
   "connecting" state and reconnects by itself when the service is back.

Exit status: 0 when stopped by SIGTERM, 1 when the browser had to go.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.client import HTTPResponse
from pathlib import Path
from types import FrameType
from typing import Final
from urllib.parse import urlsplit

_LOGGER = logging.getLogger(__name__)

DEFAULT_URL: Final = "http://127.0.0.1:8080/"
GRACE_S: Final = 60.0
CHECK_S: Final = 5.0
STOP_S: Final = 5.0
ROTATIONS: Final = {"0": 0, "90": 1, "180": 2, "270": 3}
LOOPBACK: Final = ("127.0.0.1", "::1", "localhost")
ENROL_FILE: Final = "enrol-url"  # in the kiosk's state directory

# NB: the page talks to the local service only; anything that phones home, asks a
# question or restores a crashed session would stand between a shopper and the page.
CHROMIUM_FLAGS: Final = (
    "--kiosk",
    "--noerrdialogs",
    "--no-first-run",
    "--disable-translate",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-pinch",
    "--overscroll-history-navigation=0",
    "--hide-crash-restore-bubble",
    "--disable-session-crashed-bubble",
    "--check-for-update-interval=31536000",
    "--ozone-platform=wayland",
)


@dataclass(frozen=True)
class KioskScreen:
    url: str = DEFAULT_URL
    kiosk_id: str | None = None
    rotate: int = 0  # quarter turns clockwise
    grace_s: float = GRACE_S
    check_s: float = CHECK_S
    profile_dir: str | None = None
    enrol_file: str | None = None  # a one-time URL to open instead of ``url``, then deleted

    @property
    def base(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def command(self, url: str | None = None) -> list[str]:
        """cage (rotated: touch follows the output) running Chromium on the kiosk page."""
        cage = ["/usr/bin/cage", "-d", *(["-r"] * self.rotate), "--"]
        profile = [f"--user-data-dir={self.profile_dir}"] if self.profile_dir else []
        return [*cage, "/usr/bin/chromium", *CHROMIUM_FLAGS, *profile, url or self.url]

    def take_enrol_url(self) -> str | None:
        """The one-time enrolment URL a technician left for this screen, read once.

        # NB: the browser keeps the credential that URL sets in its profile; the file
        # goes, so a later start opens the kiosk page itself.
        """
        if self.enrol_file is None:
            return None
        path = Path(self.enrol_file)
        try:
            url = path.read_text(encoding="utf-8").strip().splitlines()[-1].strip()
            path.unlink()
        except (OSError, IndexError):
            return None
        parts = urlsplit(url)
        return url if parts.scheme in ("http", "https") and parts.hostname in LOOPBACK else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> KioskScreen:
        rotate = environ.get("STOREEDGE_KIOSK_ROTATE", "0").strip()
        if rotate not in ROTATIONS:
            raise ValueError(f"STOREEDGE_KIOSK_ROTATE: expected 0, 90, 180 or 270; got {rotate!r}")
        home = environ.get("HOME")
        return cls(
            url=environ.get("STOREEDGE_KIOSK_URL", DEFAULT_URL),
            kiosk_id=environ.get("STOREEDGE_KIOSK_ID") or None,
            rotate=ROTATIONS[rotate],
            profile_dir=f"{home}/chromium" if home else None,
            enrol_file=f"{home}/{ENROL_FILE}" if home else None,
        )


def _context(base: str) -> ssl.SSLContext | None:
    """For https on loopback: no verification. The probe only asks "are you up?" of this
    very box and sends nothing secret; the browser itself verifies the certificate."""
    parts = urlsplit(base)
    if parts.scheme != "https" or parts.hostname not in LOOPBACK:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _open(url: str, timeout: float) -> HTTPResponse:
    base = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
    response: HTTPResponse = urllib.request.urlopen(url, timeout=timeout, context=_context(base))  # noqa: S310  # NB: the configured local URL
    return response


def service_answers(base: str, timeout: float = 2.0) -> bool:
    """True when the service answers HTTP at all (``/healthz`` 200 or 503 both count)."""
    try:
        with _open(f"{base}/healthz", timeout):
            return True
    except urllib.error.HTTPError:
        return True  # NB: degraded is still answering; the page can load
    except (OSError, ValueError):
        return False


_CONNECTED = re.compile(r'^storeedge_kiosk_connected\{kiosk="([^"]*)"\}\s+([0-9.eE+-]+)$', re.M)


def kiosk_connected(base: str, kiosk_id: str | None, timeout: float = 2.0) -> bool | None:
    """Whether the kiosk page is connected (None: the service did not say)."""
    try:
        with _open(f"{base}/metrics", timeout) as response:
            text = response.read(1_000_000).decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    states = {kiosk: float(value) > 0 for kiosk, value in _CONNECTED.findall(text)}
    if not states:
        return None
    if kiosk_id is None:
        return any(states.values())
    return states.get(kiosk_id)


class Launcher:
    def __init__(self, screen: KioskScreen, command: Sequence[str] | None = None) -> None:
        self.screen = screen
        self._given = list(command) if command else None
        self.stop = threading.Event()

    def command(self) -> list[str]:
        if self._given is not None:
            return self._given
        enrol = self.screen.take_enrol_url()
        if enrol is not None:
            _LOGGER.info("opening the one-time enrolment URL left for this screen")
        return self.screen.command(enrol)

    def wait_ready(self) -> bool:
        said = False
        while not self.stop.is_set():
            if service_answers(self.screen.base):
                return True
            if not said:
                _LOGGER.info("waiting for the service at %s", self.screen.base)
                said = True
            self.stop.wait(1.0)
        return False

    def run(self) -> int:
        if not self.wait_ready():
            return 0
        _LOGGER.info("service answers; starting the kiosk screen on %s", self.screen.url)
        browser = subprocess.Popen(self.command(), start_new_session=True)
        try:
            return self._watch(browser)
        finally:
            _end(browser)

    def _watch(self, browser: subprocess.Popen[bytes]) -> int:
        last_seen = time.monotonic()
        while not self.stop.wait(self.screen.check_s):
            status = browser.poll()
            if status is not None:
                _LOGGER.error("the browser exited (status %s); the unit starts a new one", status)
                return 1
            now = time.monotonic()
            if not service_answers(self.screen.base):
                last_seen = now  # NB: an outage: the page reconnects by itself afterwards
                continue
            if kiosk_connected(self.screen.base, self.screen.kiosk_id) is not False:
                last_seen = now
            elif now - last_seen > self.screen.grace_s:
                _LOGGER.error(
                    "kiosk page silent for %.0f s while the service answers: "
                    "stopping the browser for a fresh start",
                    now - last_seen,
                )
                return 1
        return 0


def _end(browser: subprocess.Popen[bytes]) -> None:
    """Stops the compositor and the browser (the whole process group)."""
    if browser.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_S), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(browser.pid, sig)
        except ProcessLookupError:
            return
        try:
            browser.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        return


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m storeedge.ops.kiosk",
        description="Starts the kiosk screen once the service answers and restarts it when "
        "its page stops answering (settings from STOREEDGE_KIOSK_* variables).",
    )
    parser.add_argument("--grace", type=float, default=GRACE_S, help="seconds of silence")
    parser.add_argument("--check", type=float, default=CHECK_S, help="seconds between checks")
    parser.add_argument("command", nargs="*", help="browser command (default: cage + chromium)")
    args = parser.parse_args(argv)
    from storeedge.ops.logs import setup_logging

    setup_logging()
    try:
        screen = KioskScreen.from_env(os.environ)
    except ValueError as exc:
        print(f"storeedge kiosk: {exc}", file=sys.stderr)  # noqa: T201  # the tool's own output
        return 2
    screen = dataclasses.replace(screen, grace_s=args.grace, check_s=args.check)
    launcher = Launcher(screen, args.command)

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        launcher.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return launcher.run()


if __name__ == "__main__":
    raise SystemExit(main())
