"""Eddystone-EID computation exactly as the Eddystone spec (CONTRACTS section 2).

temporary key = AES-128(identity_key, 00x11 | FF | 00 00 | TS[31:16])
EID           = AES-128(temporary key, 00x11 | K | TS with its K low bits cleared)[:8]
"""

from __future__ import annotations

from collections.abc import Sequence

from storeedge.core.ports import Aes128

_PAD11 = bytes(11)
_TS_MASK = 0xFFFFFFFF
_TK_HEAD = _PAD11 + b"\xff\x00\x00"
_EID_HEADS = [_PAD11 + bytes([k]) for k in range(16)]


def temporary_key(aes: Aes128, identity_key: bytes, ts: int) -> bytes:
    return aes(identity_key, _TK_HEAD + ((ts >> 16) & 0xFFFF).to_bytes(2, "big"))


def eid_block(k: int, ts: int) -> bytes:
    window_start = (ts >> k) << k
    return _PAD11 + bytes([k]) + (window_start & _TS_MASK).to_bytes(4, "big")


def compute_eid(aes: Aes128, identity_key: bytes, k: int, ts: int) -> bytes:
    """The 8-byte EID a beacon with this key broadcasts at beacon time ``ts``."""
    return aes(temporary_key(aes, identity_key, ts), eid_block(k, ts))[:8]


def compute_window_eids(
    aes: Aes128, identity_key: bytes, k: int, windows: Sequence[int]
) -> list[bytes]:
    """EIDs of several windows (window indexes, ``ts >> k``) in as few AES calls as possible.

    NB: windows that share ``TS[31:16]`` share a temporary key, so their blocks go
    through one multi-block ECB call; building the resolver's table is dominated by
    the number of AES calls, not by their length.
    """
    starts = [(w << k) & _TS_MASK for w in windows]
    first, last = starts[0], starts[-1]
    if first >> 16 == last >> 16 and first <= last and 0 <= k < 16:
        # The usual case: ascending windows within one TS[31:16] epoch, one temporary key.
        key = aes(identity_key, _TK_HEAD + (first >> 16).to_bytes(2, "big"))
        head = _EID_HEADS[k]
        blob = aes(key, b"".join([head + ts.to_bytes(4, "big") for ts in starts]))
        return [blob[i : i + 8] for i in range(0, 16 * len(starts), 16)]
    out: list[bytes] = [b""] * len(starts)
    by_epoch: dict[int, list[int]] = {}
    for index, ts in enumerate(starts):
        by_epoch.setdefault(ts >> 16, []).append(index)
    for indexes in by_epoch.values():
        key = temporary_key(aes, identity_key, starts[indexes[0]])
        blob = aes(key, b"".join(eid_block(k, starts[i]) for i in indexes))
        for n, i in enumerate(indexes):
            out[i] = blob[16 * n : 16 * n + 8]
    return out


def neighbour_eids(
    aes: Aes128, identity_key: bytes, k: int, window: int
) -> tuple[bytes, bytes, bytes]:
    """EIDs of windows ``window - 1``, ``window`` and ``window + 1``: the resolver's table.

    NB: the hot path of building the table for every member; two AES calls when the
    three windows share one temporary key (all but one window in 2^(16-K)).
    """
    low = ((window - 1) << k) & _TS_MASK
    mid = (window << k) & _TS_MASK
    high = ((window + 1) << k) & _TS_MASK
    if low >> 16 != high >> 16 or low > high or not 0 <= k < 16:
        a, b, c = compute_window_eids(aes, identity_key, k, (window - 1, window, window + 1))
        return a, b, c
    key = aes(identity_key, _TK_HEAD + (low >> 16).to_bytes(2, "big"))
    head = _EID_HEADS[k]
    blob = aes(
        key,
        head
        + low.to_bytes(4, "big")
        + head
        + mid.to_bytes(4, "big")
        + head
        + high.to_bytes(4, "big"),
    )
    return blob[:8], blob[16:24], blob[32:40]


def beacon_time(unix_seconds: float, clock_offset: int) -> int:
    return (int(unix_seconds) - clock_offset) & _TS_MASK
