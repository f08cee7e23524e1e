"""The systemd notify protocol (CONTRACTS 9): READY, WATCHDOG, STOPPING, STATUS.

``storeedge run`` is a ``Type=notify`` service. It says ``READY=1`` once the
core, the outbox and the web server are up, ``WATCHDOG=1`` at least every half
of ``WATCHDOG_USEC`` while the core loop answers, and ``STOPPING=1`` when asked
to stop. Without ``NOTIFY_SOCKET`` (a shell, a test, the demo) every call is a
no-op.

# NB: the watchdog thread pings only after a call onto the core loop has come
# back within a timeout. A thread that pinged on its own schedule would keep a
# stalled core "alive" for systemd forever; this way a stalled core stops the
# pings and systemd restarts the service after ``WatchdogSec``.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Final

_LOGGER = logging.getLogger(__name__)

#: The longest a single liveness probe may wait for the core loop.
PROBE_TIMEOUT_MAX_S: Final = 2.0
#: Pings per watchdog period: three leaves room for one slow probe.
PINGS_PER_PERIOD: Final = 3


class Notifier:
    """Sends state lines to the service manager's notify socket (a datagram each)."""

    def __init__(self, address: str | None) -> None:
        self._address = _socket_address(address) if address else None
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        if self._address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.setblocking(False)  # NB: never stall the service on its manager

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def send(self, *lines: str) -> bool:
        """Sends ``KEY=VALUE`` lines as one message; False when nobody listens."""
        if self._sock is None or self._address is None:
            return False
        message = "\n".join(lines).encode("utf-8")
        with self._lock:
            try:
                self._sock.sendto(message, self._address)
            except OSError as exc:
                _LOGGER.warning("notify socket: %s", exc)
                return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def stopping(self) -> bool:
        return self.send("STOPPING=1", "STATUS=stopping")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def _socket_address(raw: str) -> str:
    # NB: "@name" is Linux's abstract namespace, written with a leading NUL on the wire.
    return "\0" + raw[1:] if raw.startswith("@") else raw


def watchdog_period_s(environ: Mapping[str, str] | None = None) -> float | None:
    """The watchdog period systemd asked for, or None when it asked for none (or not us)."""
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None  # NB: meant for another process of the unit
    return usec / 1e6 if usec > 0 else None


class Watchdog:
    """Pings ``WATCHDOG=1`` while ``alive()`` says the core answered; stops on ``stop()``."""

    def __init__(self, notifier: Notifier, alive: Callable[[], bool], period_s: float) -> None:
        self._notifier = notifier
        self._alive = alive
        self._interval = period_s / PINGS_PER_PERIOD
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="storeedge-watchdog", daemon=True)
        self.pings = 0
        self.missed = 0

    @property
    def interval_s(self) -> float:
        return self._interval

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def _run(self) -> None:
        stalled = False
        while not self._stop.is_set():
            try:
                ok = self._alive()
            except Exception:  # NB: a failing probe is a missed ping, never a dead thread
                _LOGGER.exception("watchdog probe failed")
                ok = False
            if self._stop.is_set():
                return
            if ok:
                self._notifier.watchdog()
                self.pings += 1
                if stalled:
                    _LOGGER.warning("core loop answers again; watchdog pings resumed")
                stalled = False
            else:
                self.missed += 1
                if not stalled:
                    _LOGGER.error("core loop did not answer: watchdog pings withheld")
                stalled = True
            self._stop.wait(self._interval)

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


class ServiceManager:
    """What ``storeedge run`` tells systemd, in three calls: ready, and stopping.

    ``ServiceManager.from_env(alive)`` reads ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC``;
    ``ready(status)`` says READY=1 and starts the watchdog; ``stopping()`` stops the
    pings and says STOPPING=1.
    """

    def __init__(
        self, notifier: Notifier, alive: Callable[[], bool], period_s: float | None
    ) -> None:
        self.notifier = notifier
        self._alive = alive
        self._period = period_s
        self.watchdog: Watchdog | None = None

    @classmethod
    def from_env(
        cls, alive: Callable[[float], bool], environ: Mapping[str, str] | None = None
    ) -> ServiceManager:
        """``alive(timeout)`` runs a call on the core loop (``CoreGateway.alive``)."""
        period = watchdog_period_s(environ)
        timeout = min(PROBE_TIMEOUT_MAX_S, period / PINGS_PER_PERIOD) if period else 1.0
        return cls(Notifier.from_env(environ), lambda: alive(timeout), period)

    def ready(self, status: str = "") -> None:
        self.notifier.ready(status)
        if self._period is not None and self.notifier.enabled:
            # NB: systemd ends a service that stopped pinging with SIGABRT: every thread's
            # stack then goes to stderr (the journal), showing where the core was stuck.
            faulthandler.enable()
            self.watchdog = Watchdog(self.notifier, self._alive, self._period).start()
        if self.watchdog is not None:
            _LOGGER.info("systemd watchdog: pinging every %.1f s", self.watchdog.interval_s)

    def stopping(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        self.notifier.stopping()
        self.notifier.close()
