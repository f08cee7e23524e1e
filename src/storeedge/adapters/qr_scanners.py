"""QR scanners: USB keyboard-wedge scanners read through evdev, and serial scanners.

Both decode their bytes into lines of text for ``Pipeline.on_qr``, on the core loop
(``loop.add_reader``), with no third-party library:

- **evdev**: we read the kernel's ``struct input_event`` records straight from
  ``/dev/input/eventN`` and map *key codes* to characters. Key codes do not
  depend on the keyboard layout, so a scanner behaves the same on an AZERTY
  store PC as on a QWERTY one. NB: we grab the device (EVIOCGRAB) so the
  scanner's keystrokes never reach the kiosk browser as typing.
- **serial**: USB CDC-ACM or RS-232 scanners (``/dev/ttyACM0``), read in raw
  mode; lines end with CR or LF.

Scanner input is hostile: over-long lines, unknown keys and non-ASCII bytes are
rejected with a counted reason; nothing raises into the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import struct
import termios
import tty
from collections import Counter
from collections.abc import Callable
from typing import Final

from storeedge.core.ports import QrLine

_LOGGER = logging.getLogger(__name__)

MAX_LINE: Final = 256
EV_KEY: Final = 1
KEY_PRESS: Final = 1
KEY_REPEAT: Final = 2
EVIOCGRAB: Final = 0x40044590
_EVENT = struct.Struct("llHHi")  # struct input_event: timeval, type, code, value (native ABI)
_SHIFTS: Final = frozenset({42, 54})
_ENTERS: Final = frozenset({28, 96})

# Linux key codes (input-event-codes.h) -> (plain, shifted) on the scanner's US map.
_KEYS: Final[dict[int, tuple[str, str]]] = {
    **{code: (str((code - 1) % 10), ")!@#$%^&*("[(code - 1) % 10]) for code in range(2, 12)},
    12: ("-", "_"),
    13: ("=", "+"),
    39: (";", ":"),
    51: (",", "<"),
    52: (".", ">"),
    53: ("/", "?"),
    57: (" ", " "),
    **{code: (ch, ch.upper()) for code, ch in zip(range(16, 26), "qwertyuiop", strict=True)},
    **{code: (ch, ch.upper()) for code, ch in zip(range(30, 39), "asdfghjkl", strict=True)},
    **{code: (ch, ch.upper()) for code, ch in zip(range(44, 51), "zxcvbnm", strict=True)},
}


Deliver = Callable[[QrLine], None]


class LineAssembler:
    """Bytes or characters in, bounded lines out, with counted rejections."""

    def __init__(self, scanner_id: str, deliver: Deliver, counters: Counter[str]) -> None:
        self._scanner_id = scanner_id
        self._deliver = deliver
        self._counters = counters
        self._chars: list[str] = []
        self._spoiled: str | None = None

    def char(self, ch: str) -> None:
        if len(self._chars) >= MAX_LINE:
            self._spoiled = self._spoiled or "too_long"
            return
        self._chars.append(ch)

    def spoil(self, reason: str) -> None:
        self._spoiled = self._spoiled or reason

    def end(self) -> None:
        text = "".join(self._chars)
        spoiled, self._chars, self._spoiled = self._spoiled, [], None
        if spoiled is not None:
            self._counters[f"qr.rejected.{spoiled}"] += 1
            return
        if text.strip():
            self._counters["qr.lines"] += 1
            self._deliver(QrLine(self._scanner_id, text))


class EvdevDecoder:
    """Turns ``struct input_event`` bytes from a keyboard-wedge scanner into lines."""

    def __init__(self, lines: LineAssembler) -> None:
        self._lines = lines
        self._shift = False
        self._pending = b""

    def feed(self, data: bytes) -> None:
        data = self._pending + data
        whole = len(data) - len(data) % _EVENT.size
        self._pending = data[whole:]
        for _sec, _usec, ev_type, code, value in _EVENT.iter_unpack(data[:whole]):
            if ev_type == EV_KEY:
                self._key(code, value)

    def _key(self, code: int, value: int) -> None:
        if code in _SHIFTS:
            self._shift = value != 0
        elif value not in (KEY_PRESS, KEY_REPEAT):
            return
        elif code in _ENTERS:
            self._lines.end()
        elif code in _KEYS:
            self._lines.char(_KEYS[code][1 if self._shift else 0])
        else:
            self._lines.spoil("unknown_key")


class SerialDecoder:
    """Bytes from a serial scanner into lines (CR, LF or CRLF end a line)."""

    def __init__(self, lines: LineAssembler) -> None:
        self._lines = lines

    def feed(self, data: bytes) -> None:
        for byte in data:
            if byte in (0x0A, 0x0D):
                self._lines.end()
            elif 0x20 <= byte < 0x7F:
                self._lines.char(chr(byte))
            else:
                self._lines.spoil("bad_byte")


class DeviceQrSource:
    """One scanner device, read on the core loop; reopens it after unplugging."""

    def __init__(self, scanner_id: str, kind: str, device: str) -> None:
        if kind not in ("evdev", "serial"):
            raise ValueError(f"unsupported QR scanner kind {kind!r}")
        self.scanner_id = scanner_id
        self.kind = kind
        self.device = device
        self.counters: Counter[str] = Counter()
        self._healthy = False
        self._detail = "not started"

    @property
    def healthy(self) -> bool:
        return self._healthy

    @property
    def detail(self) -> str:
        return self._detail

    def _open(self) -> int:
        fd = os.open(self.device, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        if self.kind == "evdev":
            try:
                fcntl.ioctl(fd, EVIOCGRAB, 1)
            except OSError as exc:  # a FIFO in tests, or a device someone else grabbed
                _LOGGER.warning("cannot grab %s (%s): keystrokes may leak", self.device, exc)
        elif os.isatty(fd):
            tty.setraw(fd, termios.TCSANOW)
        return fd

    async def run(self, deliver: Deliver) -> None:
        """Reads until cancelled; raises OSError when the device goes away (supervised)."""
        lines = LineAssembler(self.scanner_id, deliver, self.counters)
        decoder: EvdevDecoder | SerialDecoder = (
            EvdevDecoder(lines) if self.kind == "evdev" else SerialDecoder(lines)
        )
        try:
            fd = self._open()
        except OSError as exc:
            self._healthy, self._detail = False, f"cannot open {self.device}: {exc.strerror}"
            raise
        loop = asyncio.get_running_loop()
        gone: asyncio.Future[OSError] = loop.create_future()

        def readable() -> None:
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                return
            except OSError as exc:
                if not gone.done():
                    gone.set_result(exc)
                return
            if not data and self.kind == "evdev" and not gone.done():
                gone.set_result(OSError(errno.ENODEV, "device closed"))
                return
            decoder.feed(data)

        loop.add_reader(fd, readable)
        self._healthy, self._detail = True, f"reading {self.device}"
        try:
            error = await gone
            self._healthy, self._detail = False, f"{self.device}: {error}"
            raise error
        finally:
            loop.remove_reader(fd)
            with contextlib.suppress(OSError):
                os.close(fd)
