"""Eddystone-EID computation exactly as the Eddystone spec (CONTRACTS section 2).

temporary key = AES-128(identity_key, 00x11 | FF | 00 00 | TS[31:16])
EID           = AES-128(temporary key, 00x11 | K | TS with its K low bits cleared)[:8]
"""

from __future__ import annotations

from storeedge.core.ports import Aes128

_PAD11 = bytes(11)


def temporary_key(aes: Aes128, identity_key: bytes, ts: int) -> bytes:
    block = _PAD11 + b"\xff" + b"\x00\x00" + ((ts >> 16) & 0xFFFF).to_bytes(2, "big")
    return aes(identity_key, block)


def eid_block(k: int, ts: int) -> bytes:
    window_start = (ts >> k) << k
    return _PAD11 + bytes([k]) + (window_start & 0xFFFFFFFF).to_bytes(4, "big")


def compute_eid(aes: Aes128, identity_key: bytes, k: int, ts: int) -> bytes:
    """The 8-byte EID a beacon with this key broadcasts at beacon time ``ts``."""
    return aes(temporary_key(aes, identity_key, ts), eid_block(k, ts))[:8]


def beacon_time(unix_seconds: float, clock_offset: int) -> int:
    return (int(unix_seconds) - clock_offset) & 0xFFFFFFFF
