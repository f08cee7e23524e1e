"""The screens' side of the core's ``UiSink``: signals become Socket.IO events.

Called from the core thread. An emit in threading mode only queues a packet per
client, so the core loop never waits on a slow tablet. Emits that must stay in
order with the signals (a console's first snapshot, a kiosk's current greeting)
are also made from the core thread, through :meth:`SocketUi.send_to`.

Privacy: a kiosk only ever receives the first word of the member's display
name and the language to greet in; the greeting it holds for a kiosk that
reconnects is forgotten on ``kiosk.clear`` and after the kiosk's idle time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from flask_socketio import SocketIO

from storeedge.config import KioskSettings
from storeedge.core.events import JSON
from storeedge.core.profiles import first_name

_LOGGER = logging.getLogger(__name__)

KIOSK_NS: Final = "/kiosk"
STAFF_NS: Final = "/staff"
STAFF_ROOM: Final = "staff"
STAFF_CHANNELS: Final = ("arrival", "departure", "alert", "forget")


def kiosk_room(kiosk_id: str) -> str:
    return f"kiosk:{kiosk_id}"


@dataclass(frozen=True, slots=True)
class _Greeting:
    payload: dict[str, JSON]
    at: float  # time.monotonic() when it was shown


class SocketUi:
    """Implements ``storeedge.core.ports.UiSink``; thread-safe."""

    def __init__(self, socketio: SocketIO, kiosks: tuple[KioskSettings, ...]) -> None:
        self._socketio = socketio
        self._kiosks = {k.id: k for k in kiosks}
        self._lock = threading.Lock()
        self._greetings: dict[str, _Greeting] = {}
        self.counters: Counter[str] = Counter()

    def signal(self, channel: str, payload: Mapping[str, JSON]) -> None:
        try:
            self._route(channel, payload)
        except Exception:  # NB: a screen problem must never raise into the core loop
            _LOGGER.exception("could not push the %s signal to the screens", channel)
            self.counters["signal.failed"] += 1

    def _route(self, channel: str, payload: Mapping[str, JSON]) -> None:
        prefix, _, name = channel.partition(".")
        if channel == "kiosk.greet":
            self._greet(payload)
        elif channel == "kiosk.clear":
            self._clear(payload)
        elif prefix == "staff" and name in STAFF_CHANNELS:
            self._socketio.emit(name, dict(payload), namespace=STAFF_NS, to=STAFF_ROOM)
        else:
            _LOGGER.warning("unknown screen signal %s dropped", channel)
            self.counters["signal.unknown"] += 1

    def _greet(self, payload: Mapping[str, JSON]) -> None:
        kiosk_id = payload.get("kiosk_id")
        name = first_name(payload.get("display_name"))
        if not isinstance(kiosk_id, str) or kiosk_id not in self._kiosks or not name:
            self.counters["greet.rejected"] += 1
            return
        language = payload.get("language")
        greeting: dict[str, JSON] = {
            "first_name": name,
            "language": language if language in ("fr", "en") else self._kiosks[kiosk_id].language,
        }
        with self._lock:
            self._greetings[kiosk_id] = _Greeting(greeting, time.monotonic())
            self._socketio.emit("greet", greeting, namespace=KIOSK_NS, to=kiosk_room(kiosk_id))

    def _clear(self, payload: Mapping[str, JSON]) -> None:
        kiosk_id = payload.get("kiosk_id")
        if not isinstance(kiosk_id, str) or kiosk_id not in self._kiosks:
            self.counters["clear.rejected"] += 1
            return
        with self._lock:
            self._greetings.pop(kiosk_id, None)
            self._socketio.emit("clear", {}, namespace=KIOSK_NS, to=kiosk_room(kiosk_id))

    def replay_kiosk(self, kiosk_id: str, sid: str) -> None:
        """Send a (re)connected kiosk what it should show now: a greeting or idle."""
        kiosk = self._kiosks.get(kiosk_id)
        if kiosk is None:
            return
        with self._lock:
            current = self._greetings.get(kiosk_id)
            if current is not None and time.monotonic() - current.at > kiosk.idle_s:
                self._greetings.pop(kiosk_id, None)
                current = None
            if current is None:
                self._socketio.emit("clear", {}, namespace=KIOSK_NS, to=sid)
            else:
                self._socketio.emit("greet", current.payload, namespace=KIOSK_NS, to=sid)

    def send_to(self, sid: str, event: str, data: Any, namespace: str) -> None:
        """One event to one client (call it on the core thread to keep signal order)."""
        self._socketio.emit(event, data, namespace=namespace, to=sid)
