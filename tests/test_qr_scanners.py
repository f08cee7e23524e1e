"""QR scanner adapters against real kernel objects: a FIFO of input events and a pty."""

from __future__ import annotations

import asyncio
import os
import struct
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storeedge.adapters.qr_scanners import (
    MAX_LINE,
    DeviceQrSource,
    EvdevDecoder,
    LineAssembler,
    SerialDecoder,
)
from storeedge.core.ports import QrLine

EVENT = struct.Struct("llHHi")
KEYCODES = {
    **{str(d): (2 + (d - 1) % 10, False) for d in range(10)},
    ":": (39, True),
    "-": (12, False),
    **{ch: (code, True) for code, ch in zip(range(16, 26), "QWERTYUIOP", strict=True)},
    **{ch: (code, True) for code, ch in zip(range(30, 39), "ASDFGHJKL", strict=True)},
    **{ch: (code, True) for code, ch in zip(range(44, 51), "ZXCVBNM", strict=True)},
}


def typed(text: str) -> bytes:
    """What a keyboard-wedge scanner sends for ``text`` followed by Enter."""
    out = []
    for ch in text:
        code, shifted = KEYCODES[ch]
        if shifted:
            out.append(EVENT.pack(0, 0, 1, 42, 1))
        out.append(EVENT.pack(0, 0, 4, 4, code))  # EV_MSC scan code noise, ignored
        out.append(EVENT.pack(0, 0, 1, code, 1))
        out.append(EVENT.pack(0, 0, 1, code, 0))
        out.append(EVENT.pack(0, 0, 0, 0, 0))  # EV_SYN
        if shifted:
            out.append(EVENT.pack(0, 0, 1, 42, 0))
    out.append(EVENT.pack(0, 0, 1, 28, 1))
    out.append(EVENT.pack(0, 0, 1, 28, 0))
    return b"".join(out)


def collect() -> tuple[list[QrLine], Counter[str], LineAssembler]:
    scans: list[QrLine] = []
    counters: Counter[str] = Counter()
    return scans, counters, LineAssembler("kiosk-qr", scans.append, counters)


def test_evdev_decodes_by_key_code_in_split_reads() -> None:
    scans, _, lines = collect()
    decoder = EvdevDecoder(lines)
    data = typed("SE1:M:C-000123:12345678")
    for i in range(0, len(data), 7):  # reads do not align with records
        decoder.feed(data[i : i + 7])
    assert scans == [QrLine("kiosk-qr", "SE1:M:C-000123:12345678")]


def test_unknown_keys_and_long_lines_are_counted_not_delivered() -> None:
    scans, counters, lines = collect()
    decoder = EvdevDecoder(lines)
    decoder.feed(EVENT.pack(0, 0, 1, 200, 1) + typed("AB"))  # key 200 is not ours
    decoder.feed(typed("1" * (MAX_LINE + 5)))
    decoder.feed(typed("OK"))
    assert [s.text for s in scans] == ["OK"]
    assert counters["qr.rejected.unknown_key"] == 1
    assert counters["qr.rejected.too_long"] == 1


def test_serial_lines() -> None:
    scans, counters, lines = collect()
    SerialDecoder(lines).feed(b"SE1:M:C-1:12345678\r\n\r\nbad\x00x\nok\n")
    assert [s.text for s in scans] == ["SE1:M:C-1:12345678", "ok"]
    assert counters["qr.rejected.bad_byte"] == 1


@settings(max_examples=300, derandomize=True)
@given(st.binary(max_size=2048))
def test_decoders_never_raise_and_bound_lines(data: bytes) -> None:
    scans, _, lines = collect()
    EvdevDecoder(lines).feed(data)
    SerialDecoder(lines).feed(data)
    assert all(len(s.text) <= MAX_LINE for s in scans)


async def _read_one(source: DeviceQrSource, write: object) -> list[QrLine]:
    scans: list[QrLine] = []
    task = asyncio.create_task(source.run(scans.append))
    await asyncio.sleep(0.05)
    assert callable(write)
    write()
    for _ in range(100):
        if scans:
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return scans


def test_evdev_source_reads_a_real_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "event-kbd"
    os.mkfifo(fifo)
    source = DeviceQrSource("kiosk-qr", "evdev", str(fifo))
    holder: list[int] = []

    def write() -> None:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        holder.append(fd)
        os.write(fd, typed("SE1:P:O-98121:87654321"))

    try:
        scans = asyncio.run(_read_one(source, write))
    finally:
        for fd in holder:
            os.close(fd)
    assert [s.text for s in scans] == ["SE1:P:O-98121:87654321"]


def test_serial_source_reads_a_real_pty() -> None:
    master, slave = os.openpty()
    source = DeviceQrSource("counter-qr", "serial", os.ttyname(slave))
    try:
        scans = asyncio.run(_read_one(source, lambda: os.write(master, b"SE1:M:C-9:11112222\r")))
    finally:
        os.close(master)
        os.close(slave)
    assert [s.text for s in scans] == ["SE1:M:C-9:11112222"]


def test_missing_device_is_unhealthy_and_raises_for_the_supervisor(tmp_path: Path) -> None:
    source = DeviceQrSource("kiosk-qr", "evdev", str(tmp_path / "nope"))
    with pytest.raises(OSError):
        asyncio.run(source.run(lambda scan: None))
    assert not source.healthy
    assert "cannot open" in source.detail
