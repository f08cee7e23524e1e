"""Core pipeline throughput, EID table build, and replay vs bare JSON decoding (figures only).

    .venv/bin/python bench/pipeline_throughput.py [--members 10000] [--devices 1000]
        [--records 300000] [--table 100000] [--replay-records 400000]

Every figure comes with a baseline measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

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
from storeedge.simulators.population import members
from storeedge.simulators.world import store_toml

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


def make_mix(profiles: list[dict[str, Any]], count: int) -> list[str]:
    """A realistic recording, as lines: about 40 % member EIDs (members walking about, heard
    by several receivers), 40 % non-member phones whose addresses rotate, store beacons
    (Eddystone UID or iBeacon, with Eddystone TLM), other Eddystone-EIDs, and a few
    malformed lines."""
    rng = random.Random(11)
    enrolled = [parse_profile(p) for p in profiles[:150]]
    lines: list[str] = []
    t = START
    members = []
    for n, profile in enumerate(enrolled):
        key = profile.ble
        assert isinstance(key, EidKey)
        address = f"4{n % 10:X}:{n >> 8 & 0xFF:02X}:{n & 0xFF:02X}:00:00:01"
        members.append((key, address, [rng.uniform(-95, -55) for _ in SCANNERS]))
    strangers = [
        (f"5{n % 10:X}:{n:04X}"[:8] + ":AA:BB:" + f"{n & 0xFF:02X}", rng.randbytes(5))
        for n in range(400)
    ]
    beacon_uid = b"\x00\xeb" + bytes.fromhex("53545245454447450042") + bytes(6)
    ibeacon = (
        b"\x02\x15" + bytes.fromhex("53545245454447450042") + bytes(6) + b"\x00\x01\x00\x02\xc5"
    )
    eids: dict[tuple[int, int], bytes] = {}
    i = 0
    while len(lines) < count:
        t += 0.00025
        i += 1
        roll = i % 100
        if roll < 25:  # a member: one advert heard by two receivers (40 % of the lines)
            n = rng.randrange(len(members))
            key, address, levels = members[n]
            ts = beacon_time(t, key.clock_offset)
            window = ts >> key.rotation_exponent
            eid = eids.get((n, window))
            if eid is None:
                eid = eids[(n, window)] = compute_eid(
                    aes128_ecb, key.identity_key, key.rotation_exponent, ts
                )
            frame = {EDDYSTONE_UUID: b"\x30\xeb" + eid}
            for s in rng.sample(range(len(SCANNERS)), 2):
                rssi = max(-127, min(20, round(levels[s] + rng.gauss(0.0, 4.0))))
                record = AdvertRecord(
                    t, SCANNERS[s], address, rssi, None, None, {}, frame, (EDDYSTONE_UUID,)
                )
                lines.append(record_to_json(record))
            continue
        if roll < 75:  # a stranger's phone (40 %); its address rotates every minute or so
            n = rng.randrange(len(strangers))
            address, nearby = strangers[n]
            address = f"{address[:-2]}{int(t // 60) % 256:02X}"
            record = AdvertRecord(
                t, SCANNERS[rng.randrange(len(SCANNERS))], address, rng.randint(-95, -60),
                None, None, {APPLE_COMPANY_ID: b"\x10\x05" + nearby}, {}, (),
            )  # fmt: skip
        elif roll < 90:  # store beacons (12 %): Eddystone UID or iBeacon, and TLM
            n = roll % 3
            manufacturer: dict[int, bytes] = {}
            service: dict[str, bytes] = {EDDYSTONE_UUID: beacon_uid[:-1] + bytes([n])}
            if i % 10 == 0:
                service = {EDDYSTONE_UUID: b"\x20\x00" + (2950).to_bytes(2, "big") + bytes(10)}
            elif n == 1:  # one of the three speaks iBeacon (the others UID, and TLM)
                manufacturer, service = {APPLE_COMPANY_ID: ibeacon}, {}
            record = AdvertRecord(
                t, SCANNERS[rng.randrange(len(SCANNERS))], f"C0:00:00:00:00:0{n}",
                rng.randint(-90, -60), None, None, manufacturer, service, tuple(service),
            )  # fmt: skip
        elif roll < 98:  # somebody else's Eddystone-EID
            record = AdvertRecord(
                t, SCANNERS[rng.randrange(len(SCANNERS))], f"6A:00:00:00:{roll:02X}:01",
                rng.randint(-95, -60), None, None, {},
                {EDDYSTONE_UUID: b"\x30\xeb" + rng.randbytes(8)}, (EDDYSTONE_UUID,),
            )  # fmt: skip
        else:  # a malformed line
            lines.append('{"t": "soon", "scanner": "entrance"}' if roll == 98 else "{not json")
            continue
        lines.append(record_to_json(record))
    return lines[:count]


def _replay_in_process(settings: Any, profiles: list[Any], data: list[bytes]) -> float:
    from storeedge.recording import replay_lines

    sink = io.BytesIO()
    started = time.process_time()
    replay_lines(iter(data), settings, profiles, sink)
    return time.process_time() - started


def _loads_all(data: list[bytes]) -> float:
    started = time.process_time()
    for line in data:
        try:  # noqa: SIM105  # NB: contextlib.suppress costs more than the decoding measured
            json.loads(line)
        except ValueError:
            pass
    return time.process_time() - started


def bench_replay_ratio(config: Path, profiles: list[dict[str, Any]], count: int) -> None:
    """Replay / bare json.loads on the same lines, in this process, best of 5 alternated:
    a realistic mix and the fixture recording (devices/fixtures).

    NB: CPU time of this process (time.process_time), not wall time: on a machine whose
    cores other work shares, wall time mostly measures the neighbours; the ratio is the
    same either way on an idle machine."""
    from storeedge.recording import load_customers, open_lines

    settings = load_settings(config)
    mix = [(line + "\n").encode() for line in make_mix(profiles, count)]
    mix_profiles = [parse_profile(p) for p in profiles]
    fixtures = Path(__file__).resolve().parent.parent / "devices" / "fixtures"
    with open_lines(fixtures / "simulated-walk.jsonl.gz") as lines:
        walk = list(lines) * 20
    walk_profiles, _ = load_customers(fixtures / "simulated-walk.customers.json")
    for label, data, enrolled in (("mix", mix, mix_profiles), ("fixture x20", walk, walk_profiles)):
        loads, replays = [], []
        for _ in range(5):
            loads.append(_loads_all(data))
            replays.append(_replay_in_process(settings, enrolled, data))
        ratios = [r / n for r, n in zip(replays, loads, strict=True)]
        print(
            f"replay ratio, {label}: {len(data)} lines, replay {min(replays):.2f} s, bare "
            f"json.loads {min(loads):.2f} s (CPU s, best of 5 each): "
            f"ratio {min(replays) / min(loads):.2f}x (median of the rounds "
            f"{statistics.median(ratios):.2f}x: {', '.join(f'{x:.2f}' for x in ratios)})",
            flush=True,
        )


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
    parser.add_argument("--ratio-records", type=int, default=400_000)
    parser.add_argument("--only", choices=("pipeline", "table", "replay", "ratio"), default=None)
    args = parser.parse_args()
    wanted = {args.only} if args.only else {"pipeline", "table", "replay", "ratio"}
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
        if "ratio" in wanted:
            bench_replay_ratio(config, profiles, args.ratio_records)
        if "replay" in wanted:
            replay_records = make_records(profiles, args.devices, args.replay_records)
            bench_replay(config, customers, replay_records, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
