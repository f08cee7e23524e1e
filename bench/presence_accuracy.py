"""Presence accuracy against ground truth, per advertising rate (figures, not pass/fail).

For each rate, a simulated hour (or ``--hours``) of member shoppers and member
passers-by is played through the real Pipeline on a ManualClock; arrivals and
departures are matched against the simulator's door crossings.

    .venv/bin/python bench/presence_accuracy.py [--hours 1] [--shoppers 40] [--seed 1]
        [--seeds 1,2,3,4] [--rates 1,4,10] [--mixed] [--single-door] [--tune name=value,...]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from simulators import scenario as scen
from simulators.scoring import Score, percentile, pooled, score
from simulators.world import SCANNERS, SINGLE_DOOR_SCANNERS, Scanner, World, store_toml
from storeedge.adapters.crypto import aes128_ecb
from storeedge.config import load_settings
from storeedge.core.clock import ManualClock
from storeedge.core.pipeline import Pipeline
from storeedge.core.ports import ListSink, NullUi
from storeedge.core.presence import Tuning
from storeedge.core.profiles import parse_profile

CHUNK_S = 10.0
DRAIN_S = 120.0


def run(
    sc: scen.Scenario,
    seed: int,
    config: Path,
    tuning: Tuning | None = None,
    scanners: tuple[Scanner, ...] = SCANNERS,
) -> tuple[Score, int, float]:
    settings = load_settings(config)
    world = World(aes128_ecb, seed, scanners=scanners)
    profiles = scen.build(world, sc, seed)
    clock = ManualClock(sc.start)
    sink = ListSink()
    pipeline = Pipeline(settings, clock, sink, NullUi(), aes128_ecb, tuning=tuning)
    pipeline.load_profiles(parse_profile(p) for p in profiles)
    t, records, busy = sc.start, 0, 0.0
    end = sc.start + sc.duration_s
    while t < end or not world.done():
        chunk = world.step(t + CHUNK_S)
        started = time.perf_counter()
        for record in chunk:
            clock.set(record.t)
            pipeline.on_advert(record)
            pipeline.tick()
        clock.set(t + CHUNK_S)
        pipeline.tick()
        busy += time.perf_counter() - started
        records += len(chunk)
        t += CHUNK_S
    drain_end = clock.now() + DRAIN_S
    while clock.now() < drain_end:
        clock.advance(0.25)
        pipeline.tick()
    return score(world.truth, sink.events, clock.now()), records, busy


def _line(label: str, s: Score, records: int, busy: float) -> str:
    per100 = 100.0 * s.false_arrivals / max(1, s.passers_by)
    per10h = 10.0 * s.false_departures / max(1e-9, s.member_hours)
    zone = 100.0 * s.zone_right_s / max(1.0, s.zone_total_s)
    return (
        f"{label:<22} visits={len(s.arrivals):4d} missed={s.missed_visits:3d} "
        f"arrival p50={percentile(s.arrivals, 50):5.2f}s p95={percentile(s.arrivals, 95):5.2f}s  "
        f"departure p50={percentile(s.departures, 50):5.1f}s "
        f"p95={percentile(s.departures, 95):5.1f}s  "
        f"false arrivals={s.false_arrivals} ({per100:.2f}/100 passers-by, n={s.passers_by})  "
        f"false departures={s.false_departures} ({per10h:.2f}/10 member-h, "
        f"{s.member_hours:.1f} member-h)  zone right={zone:.1f}%  "
        f"records={records} pipeline={busy:.1f}s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--shoppers", type=int, default=40)
    parser.add_argument("--passers-by", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--seeds", default="", help="several crowds, e.g. 1,2,3,4: each, then all pooled"
    )
    parser.add_argument("--rates", default="1,4,10")
    parser.add_argument("--mixed", action="store_true", help="also iPhones and store tags")
    parser.add_argument("--tune", default="", help="presence overrides: name=value,...")
    parser.add_argument(
        "--single-door", action="store_true", help="one entrance receiver instead of the pair"
    )
    args = parser.parse_args()
    scanners = SINGLE_DOOR_SCANNERS if args.single_door else SCANNERS
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "store.toml"
        config.write_text(store_toml(str(Path(tmp) / "data"), scanners=scanners), encoding="utf-8")
        android = (("android", 1.0),)
        runs = [
            (f"android {rate:g} Hz", _scenario(args, rate, android))
            for rate in (float(r) for r in args.rates.split(","))
        ]
        if args.mixed:
            mix = (("iphone", 0.5), ("tag", 0.5))
            runs.append(("iphone+tag", _scenario(args, 1.0, mix)))
        overrides: dict[str, float | bool] = {
            k: (v == "true") if v in ("true", "false") else float(v)
            for k, v in (i.split("=") for i in args.tune.split(",") if i)
        }
        doors = sum(1 for s in scanners if s[2] == "entrance")
        tuning = dataclasses.replace(Tuning.for_door(doors), **overrides)  # type: ignore[arg-type]  # NB: names and types come from the command line; a typo fails loudly here
        seeds = [int(x) for x in args.seeds.split(",") if x] or [args.seed]
        for label, sc in runs:
            results = []
            for seed in seeds:
                result, records, busy = run(sc, seed, config, tuning, scanners)
                results.append(result)
                name = label if len(seeds) == 1 else f"{label} s{seed}"
                print(_line(name, result, records, busy), flush=True)
            if len(seeds) > 1:
                print(_line(f"{label} pooled", pooled(results), 0, 0.0), flush=True)
    return 0


def _scenario(
    args: argparse.Namespace, rate: float, mix: tuple[tuple[str, float], ...]
) -> scen.Scenario:
    return scen.Scenario(
        duration_s=args.hours * 3600.0,
        shoppers=args.shoppers,
        passers_by=args.passers_by,
        rate_hz=rate,
        mix=mix,
    )


if __name__ == "__main__":
    sys.exit(main())
