"""Core pipeline throughput, EID table build, and replay vs bare JSON decoding (figures only).

    .venv/bin/python bench/pipeline_throughput.py [--members 10000] [--devices 1000]
        [--records 300000] [--table 100000] [--replay-records 400000]

Every figure comes with a baseline measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from simulators.population import members
from simulators.world import store_toml
from storeedge.adapters.crypto import aes128_ecb
from storeedge.config import load_settings
from storeedge.core.adverts import APPLE_COMPANY_ID, EDDYSTONE_UUID
from storeedge.core.clock import ManualClock
from storeedge.core.eid import beacon_time, compute_eid
from storeedge.core.pipeline import Pipeline
from storeedge.core.ports import AdvertRecord, ListSink, NullUi
from storeedge.core.profiles import EidKey, parse_profile
from storeedge.core.recognition import Recognizer
from storeedge.core.records import decode_line, record_to_json

START = 1_763_906_400.0
SCANNERS = ("entrance", "floor-a", "floor-b", "kiosk", "counter")


def _device_frames(profiles: list[dict[str, Any]], devices: int, rng: random.Random) -> list[Any]:
    """(address, manufacturer, service) per device in view: 10% members, the rest strangers."""
    out: list[Any] = []
    enrolled = [parse_profile(p) for p in profiles]
    for n in range(devices):
        address = ":".join(
            f"{b:02X}" for b in [0x40 | (n >> 8 & 0x3F), n & 0xFF, *rng.randbytes(4)]
        )
        if n % 10 == 0:
            key = enrolled[n % len(enrolled)].ble
            assert isinstance(key, EidKey)
            ts = beacon_time(START, key.clock_offset)
            eid = compute_eid(aes128_ecb, key.identity_key, key.rotation_exponent, ts)
            out.append((address, {}, {EDDYSTONE_UUID: b"\x30\xeb" + eid}))
        elif n % 10 == 1:  # somebody else's Eddystone-EID
            out.append((address, {}, {EDDYSTONE_UUID: b"\x30\xeb" + rng.randbytes(8)}))
        elif n % 10 == 2:  # a store beacon
            out.append((address, {}, {EDDYSTONE_UUID: b"\x00\xeb" + rng.randbytes(16)}))
        else:  # phones, watches, earbuds: Apple "Nearby" and friends
            out.append((address, {APPLE_COMPANY_ID: b"\x10\x05" + rng.randbytes(5)}, {}))
    return out


def make_records(profiles: list[dict[str, Any]], devices: int, count: int) -> list[AdvertRecord]:
    """``count`` adverts from ``devices`` devices, each with its own level at each scanner
    (where it stands) plus fading, heard by one scanner at a time, about 4 Hz each."""
    rng = random.Random(7)
    frames = _device_frames(profiles, devices, rng)
    levels = [[rng.uniform(-95, -55) for _ in SCANNERS] for _ in range(devices)]
    rate = 4.0 * devices
    records = []
    for i in range(count):
        n = rng.randrange(devices)
        address, manufacturer, service = frames[n]
        s = rng.randrange(len(SCANNERS))
        rssi = max(-127, min(20, round(levels[n][s] + rng.gauss(0.0, 4.0))))
        records.append(
            AdvertRecord(
                START + i / rate,
                SCANNERS[s],
                address,
                rssi,
                None,
                None,
                manufacturer,
                service,
                tuple(service),
            )
        )
    return records


def bench_pipeline(
    config: Path, profiles: list[dict[str, Any]], records: list[AdvertRecord]
) -> None:
    settings = load_settings(config)
    clock = ManualClock(START)
    pipeline = Pipeline(settings, clock, ListSink(), NullUi(), aes128_ecb)
    pipeline.load_profiles(parse_profile(p) for p in profiles)
    on_advert, tick, set_clock = pipeline.on_advert, pipeline.tick, clock.set

    def noop(_record: AdvertRecord) -> None:
        return None

    gc.collect()
    started = time.perf_counter()
    for record in records:
        set_clock(record.t)
        noop(record)
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    for record in records:
        set_clock(record.t)
        on_advert(record)
        tick()
    elapsed = time.perf_counter() - started
    rate = len(records) / elapsed
    print(
        f"pipeline: {len(records)} adverts in {elapsed:.2f} s = {rate:,.0f} adverts/s on one core "
        f"({len(profiles)} members enrolled); baseline loop (clock + no-op call) "
        f"{len(records) / baseline:,.0f}/s, pipeline costs {elapsed / baseline:.1f}x the bare loop;"
        " "
        f"{len(pipeline.visits.open_visits())} open visits"
    )


def _build_time(profiles: list[Any], aes: Any) -> float:
    gc.collect()
    recognizer = Recognizer(aes)
    started = time.perf_counter()
    recognizer.load(profiles, START)
    return time.perf_counter() - started


def bench_table(count: int) -> None:
    profiles = [parse_profile(p) for p in members(count, seed=11)]
    elapsed = _build_time(profiles, aes128_ecb)
    key = bytes(16)
    block = bytes(16)
    started = time.perf_counter()
    for _ in range(count):
        aes128_ecb(key, block)
    aes_time = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    recognizer = Recognizer(aes128_ecb)
    recognizer.load(profiles, START)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"EID table: {count} members -> {recognizer.table_size} entries built in {elapsed:.2f} s, "
        f"{current / 1e6:.1f} MB held ({peak / 1e6:.1f} MB peak while building); "
        f"baseline: {count} single AES-128 calls take {aes_time:.2f} s "
        f"(the build is {elapsed / aes_time:.1f}x that)"
    )


def bench_replay(config: Path, customers: Path, records: list[AdvertRecord], tmp: Path) -> None:
    recording = tmp / "large.jsonl"
    with recording.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(record_to_json(record) + "\n")

    def decode_all(decode: Any) -> float:
        started = time.perf_counter()
        with recording.open("rb") as lines:
            for line in lines:
                decode(line)
        return time.perf_counter() - started

    def replay_all() -> float:
        cmd = [sys.executable, "-m", "storeedge", "replay", str(recording)]
        cmd += ["--config", str(config), "--customers", str(customers)]
        started = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return time.perf_counter() - started

    # NB: other processes share these two cores; alternate the runs and keep each best.
    decodes, scans, replays = [], [], []
    for _ in range(2):
        decodes.append(decode_all(json.loads))
        replays.append(replay_all())
        scans.append(decode_all(decode_line))
    decode, scan, replay = min(decodes), min(scans), min(replays)
    size = recording.stat().st_size / 1e6
    print(
        f"replay: {len(records)} lines ({size:.0f} MB), best of 2 each: storeedge replay "
        f"{replay:.2f} s (whole command, interpreter start included), "
        f"bare json.loads of every line "
        f"{decode:.2f} s; ratio {replay / decode:.2f}x  (the stdlib C scanner alone, as replay "
        f"calls it: {scan:.2f} s; replay / that = {replay / scan:.2f}x)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=1_000)
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--table", type=int, default=100_000)
    parser.add_argument("--replay-records", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("pipeline", "table", "replay"), default=None)
    args = parser.parse_args()
    wanted = {args.only} if args.only else {"pipeline", "table", "replay"}
    profiles = members(args.members, seed=3)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        config = tmp / "store.toml"
        config.write_text(store_toml(str(tmp / "data")), encoding="utf-8")
        customers = tmp / "customers.json"
        customers.write_text(json.dumps(profiles), encoding="utf-8")
        if "pipeline" in wanted:
            bench_pipeline(config, profiles, make_records(profiles, args.devices, args.records))
        if "table" in wanted:
            bench_table(args.table)
        if "replay" in wanted:
            replay_records = make_records(profiles, args.devices, args.replay_records)
            bench_replay(config, customers, replay_records, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
