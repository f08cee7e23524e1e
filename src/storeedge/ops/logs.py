"""Logging for a terminal and for journald: levels, one timestamp, device addresses masked.

Under systemd (``JOURNAL_STREAM`` names the stream stderr is connected to) each
line starts with its syslog priority (``<3>`` for an error; journald strips it
and stores the level, so ``journalctl -p warning`` works) and carries no
timestamp of its own: journald adds one. In a terminal, lines carry the time.

Every message goes through :class:`AddressMask`: a Bluetooth or Wi-Fi MAC
address in a message becomes ``**:**:**:**:44:F1`` (enough to tell two devices
apart in one incident, not enough to follow a phone), whatever the caller logged.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import Final, TextIO

# NB: syslog priorities (sd-daemon.h): journald reads them from the line's start.
_PRIORITY: Final = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
_MAC: Final = re.compile(
    r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{2}[:-]){4}([0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2})(?![0-9A-Fa-f:])"
)
_NOISY: Final = ("werkzeug", "engineio", "socketio", "bleak", "dbus_fast")


def mask_addresses(text: str) -> str:
    """``6E:21:9A:0C:44:F1`` -> ``**:**:**:**:44:F1`` (also with dashes)."""
    return _MAC.sub(lambda m: "**:**:**:**:" + m.group(1).replace("-", ":"), text)


class AddressMask(logging.Filter):
    """Rewrites the formatted message with device addresses masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_addresses(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JournalFormatter(logging.Formatter):
    """``<prio>module: message``; the traceback of an exception stays on the same record."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        priority = _PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        # NB: journald reads the prefix per line; continuation lines keep the level.
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def under_journald(environ: Mapping[str, str] | None = None, stream: TextIO | None = None) -> bool:
    """True when ``stream`` (stderr) is the journal stream systemd gave us."""
    env = os.environ if environ is None else environ
    value = env.get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not device or not inode:
        return False
    try:
        stat = os.fstat((stream or sys.stderr).fileno())
    except (OSError, ValueError):
        return False
    return f"{stat.st_dev}:{stat.st_ino}" == value


def setup_logging(
    verbose: bool = False,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> logging.Handler:
    """Configures the root logger once for the process; returns the handler it installed."""
    target = stream or sys.stderr
    handler = logging.StreamHandler(target)
    if under_journald(environ, target):
        handler.setFormatter(JournalFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(AddressMask())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        for name in _NOISY:
            logging.getLogger(name).setLevel(logging.WARNING)
    return handler
