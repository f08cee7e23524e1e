"""What a QR scanner test needs: a real pseudo-terminal and the codes the app would show."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from storeedge.core.qr import totp


@contextmanager
def serial_pty() -> Iterator[tuple[int, str]]:
    """(master fd, device path): the edge reads the device as a serial scanner; the test
    types into the master."""
    master, slave = os.openpty()
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


def app_code(profile: dict[str, Any], now: float, kind: str = "M", ident: str | None = None) -> str:
    """The member card (``M``) or a pickup code (``P`` with the order id) the app shows."""
    qr = profile["qr"]
    code = totp(base64.b32decode(qr["totp_secret"]), now, qr["period"], qr["digits"])
    return f"SE1:{kind}:{ident or profile['customer_id']}:{code}"
