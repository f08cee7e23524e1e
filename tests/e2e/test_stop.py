"""The stop, measured, and what happens to visits open at a stop (CONTRACTS 3 and 9).

`storeedge run` is a real process here, reading a real serial pty as its counter's QR
scanner; its events are read from its SQLite outbox (no broker listens: they wait
there). One visit gives exactly one `arrived` and one `departed`, across a SIGTERM
(`reason: "edge_stopped"`) and across a `kill -9` (`reason: "edge_restarted"`, at the
next start).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from polling import wait_until
from qrkit import app_code, serial_pty

from storeedge.adapters.broker import free_port
from storeedge.adapters.cache import LocalCache
from storeedge.config import Settings

STOP_LIMIT_S = 8.0


@pytest.fixture
def pty() -> Iterator[tuple[int, str]]:
    with serial_pty() as device:
        yield device


@pytest.fixture
def store(
    make_settings: Callable[..., Settings], jean_profile: dict[str, Any], pty: tuple[int, str]
) -> Settings:
    extra = (
        f'[web]\nport = 0\n\n[[qr_scanners]]\nid = "counter-qr"\nkind = "serial"\n'
        f'zone = "floor"\ndevice = "{pty[1]}"\n'
    )
    settings = make_settings(port=free_port(), extra=extra)
    cache = LocalCache(settings.data.dir / "cache.sqlite")
    cache.put_profile(jean_profile)  # NB: what central sent earlier; run loads it at start
    cache.close()
    return settings


def start(settings: Settings) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "storeedge", "run", "--config", str(settings.source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    for _ in range(2):  # "kiosk: ..." then "staff: ...", printed once the edge is up
        assert process.stdout.readline(), "storeedge run exited before it was up"
    process.stdout.close()  # NB: nothing more is printed; a full pipe must not block it
    return process


def events(settings: Settings) -> list[dict[str, Any]]:
    """Every event in the outbox, read-only, while or after the edge runs."""
    path = settings.data.dir / "outbox.sqlite"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name != "meta"
        ]
        rows = [
            row for t in tables for row in conn.execute(f"SELECT payload FROM {t}")
        ]  # NB: table names from sqlite_master
    finally:
        conn.close()
    found = [json.loads(payload) for (payload,) in rows]
    return sorted(found, key=lambda e: e["sequence"])


def of_type(settings: Settings, kind: str) -> list[dict[str, Any]]:
    return [e for e in events(settings) if e["type"] == f"storeedge.customer.{kind}"]


def scan_member_card(master: int, profile: dict[str, Any]) -> None:
    os.write(master, app_code(profile, time.time()).encode() + b"\r")


def test_sigterm_stops_within_8_s_and_departs_the_open_visit(
    store: Settings, pty: tuple[int, str], jean_profile: dict[str, Any]
) -> None:
    process = start(store)
    try:
        scan_member_card(pty[0], jean_profile)
        assert wait_until(lambda: of_type(store, "arrived"), timeout=10)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0
    assert took < STOP_LIMIT_S, f"stop took {took:.1f} s"
    (arrived,) = of_type(store, "arrived")
    (departed,) = of_type(store, "departed")
    assert departed["data"]["visit_id"] == arrived["data"]["visit_id"]
    assert departed["data"]["reason"] == "edge_stopped"


def test_kill_9_leaves_the_visit_to_be_departed_at_the_next_start(
    store: Settings, pty: tuple[int, str], jean_profile: dict[str, Any]
) -> None:
    process = start(store)
    try:
        scan_member_card(pty[0], jean_profile)
        assert wait_until(lambda: of_type(store, "arrived"), timeout=10)
    finally:
        process.kill()  # SIGKILL: no stop sequence at all
        process.wait(timeout=10)
    assert of_type(store, "departed") == []
    again = start(store)
    try:
        assert wait_until(lambda: of_type(store, "departed"), timeout=10)
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=15)
    (arrived,) = of_type(store, "arrived")
    (departed,) = of_type(store, "departed")  # one, not a second one at the clean stop
    assert departed["data"]["visit_id"] == arrived["data"]["visit_id"]
    assert departed["data"]["reason"] == "edge_restarted"
    sequences = [int(e["sequence"]) for e in events(store)]
    assert sequences == list(range(1, len(sequences) + 1))  # contiguous across the kill
