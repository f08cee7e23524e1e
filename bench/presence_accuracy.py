"""Presence accuracy on a family of random stores (figures, not pass/fail).

    .venv/bin/python bench/presence_accuracy.py --worlds 20 [--seeds 17,42] [--hours 1]
        [--shoppers 40] [--uncalibrated] [--compare] [--classic]

Each world is drawn whole from its seed (simulators/family.py): store, receivers,
radio and crowd. Seeds come from the clock unless given, and are printed. In
each world the technician's calibration walk is simulated and fitted by the code
of ``storeedge calibrate``; then an hour of traffic (member shoppers with 1, 4 and
10 Hz phones, member passers-by, anonymous phones, store beacons) is played
through the real Pipeline on a ManualClock and scored against the world's ground
truth, per advertising rate. ``--compare`` also scores the same traffic with the
uncalibrated defaults; ``--classic`` runs the original 20 m shop instead.
Printed: every world's figures, the pooled figures and the worst world.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from simlab import calibration_walk, family
from simlab.scoring import Score, percentile, pooled, score
from storeedge.adapters.crypto import aes128_ecb
from storeedge.config import Settings, load_settings
from storeedge.core.clock import ManualClock
from storeedge.core.pipeline import Pipeline
from storeedge.core.ports import AdvertRecord, ListSink, NullUi
from storeedge.core.profiles import parse_profile
from storeedge.simulators import scenario as scen
from storeedge.simulators.world import CLASSIC, World, store_toml

CHUNK_S = 10.0
DRAIN_S = 120.0
RATES = (1.0, 4.0, 10.0)
Calibrate = Callable[[list[AdvertRecord], Settings, dict[str, Any], list[Any]], Any]


def _calibrator() -> Calibrate | None:
    try:
        from storeedge.calibrate import fit_records
    except ImportError:  # NB: the bench also measures models that had no calibration
        return None
    return fit_records  # type: ignore[no-any-return]  # NB: checked by the import itself


def _settings(spec: family.WorldSpec, tmp: Path) -> Settings:
    config = tmp / f"store-{spec.seed}.toml"
    text = store_toml(str(tmp / "data"), scanners=spec.layout.scanners, door=spec.layout.door)
    config.write_text(text, encoding="utf-8")
    return load_settings(config)


def calibration(spec: family.WorldSpec, settings: Settings, fit: Calibrate) -> Any:
    """The technician's walk in this world, fitted as `storeedge calibrate` does."""
    world = World(aes128_ecb, spec.seed + 7, spec.radio, layout=spec.layout)
    start = spec.scenario.start - 3 * 3600.0
    profile, steps = calibration_walk.add_walk(world, start, spec.seed + 8)
    records: list[AdvertRecord] = []
    t = start
    while not world.done():
        t += CHUNK_S
        records.extend(world.step(t))
    return fit(records, settings, profile, steps)


TUNING: dict[str, float] = {}


def traffic(spec: family.WorldSpec, settings: Settings, fitted: Any) -> tuple[Score, ...]:
    """An hour of traffic through the pipeline; one score per rate, then iPhones/tags."""
    sc = spec.scenario
    world = World(aes128_ecb, spec.seed, spec.radio, layout=spec.layout)
    profiles = scen.build(world, sc, spec.seed)
    clock = ManualClock(sc.start)
    sink = ListSink()
    kwargs: dict[str, Any] = {} if fitted is None else {"calibration": fitted}
    if TUNING:
        from storeedge.core.presence import Tuning

        doors = sum(1 for s in spec.layout.scanners if s[2] == "entrance")
        kwargs["tuning"] = replace(Tuning.for_door(doors), **TUNING)  # type: ignore[arg-type]  # NB: names and values from the command line
    pipeline = Pipeline(settings, clock, sink, NullUi(), aes128_ecb, **kwargs)
    pipeline.load_profiles(parse_profile(p) for p in profiles)
    t, end = sc.start, sc.start + sc.duration_s
    while t < end or not world.done():
        for record in world.step(t + CHUNK_S):
            clock.set(record.t)
            pipeline.on_advert(record)
            pipeline.tick()
        t += CHUNK_S
        clock.set(t)
        pipeline.tick()
    drain_end = clock.now() + DRAIN_S
    while clock.now() < drain_end:
        clock.advance(0.25)
        pipeline.tick()
    events = sink.events
    return tuple(
        score([m for m in world.truth if m.rate_hz == rate], events, clock.now()) for rate in RATES
    )


def _within(s: Score, limit: float) -> float:
    return 100.0 * sum(1 for a in s.arrivals if a <= limit) / max(1, len(s.arrivals))


def line(label: str, s: Score) -> str:
    per100 = 100.0 * s.false_arrivals / max(1, s.passers_by)
    per10h = 10.0 * s.false_departures / max(1e-9, s.member_hours)
    return (
        f"{label:<24} visits={len(s.arrivals):4d} missed={s.missed_visits:2d} "
        f"arr p50={percentile(s.arrivals, 50):5.2f} p95={percentile(s.arrivals, 95):6.2f}s "
        f"<=5s {_within(s, 5.0):5.1f}% <=10s {_within(s, 10.0):5.1f}%  "
        f"dep p50={percentile(s.departures, 50):5.1f} p95={percentile(s.departures, 95):6.1f}s  "
        f"false arr={s.false_arrivals:2d} ({per100:4.2f}/100 of {s.passers_by})  "
        f"false dep={s.false_departures:2d} ({per10h:4.2f}/10 mh of {s.member_hours:5.1f})"
    )


def badness(s: Score, rate: float) -> float:
    """How far a world's line is from the targets (for picking the worst world)."""
    per100 = 100.0 * s.false_arrivals / max(1, s.passers_by)
    per10h = 10.0 * s.false_departures / max(1e-9, s.member_hours)
    arrival = percentile(s.arrivals, 95)
    arrival_limit = 3.0 if rate >= 4 else 10.0
    dep = percentile(s.departures, 95)
    return (
        max(0.0, min(arrival, 1e3) / arrival_limit - 1.0)
        + (0.0 if math.isnan(dep) else max(0.0, dep / 30.0 - 1.0))
        + max(0.0, per100 - 1.0)
        + max(0.0, per10h - 1.0)
        + s.missed_visits
    )


def _world(job: tuple[int, float, int, bool, list[tuple[str, bool]]]) -> tuple[str, Any]:
    """One world: its walk, its traffic per variant; the printed lines and the scores."""
    seed, hours, shoppers, classic, variants = job
    fit = _calibrator()
    spec = family.draw(seed, hours * 3600.0, shoppers)
    if classic:
        sc = replace(scen.Scenario(), duration_s=hours * 3600.0, rates=RATES)
        spec = family.WorldSpec(seed, CLASSIC, spec.radio.__class__(), sc)
    lines = [f"world {seed}: {spec.describe()}"]
    out = []
    with tempfile.TemporaryDirectory() as name:
        settings = _settings(spec, Path(name))
        started = time.perf_counter()
        fitted = calibration(spec, settings, fit) if fit is not None and len(variants) else None
        for variant, calibrated in variants:
            scores = traffic(spec, settings, fitted if calibrated else None)
            out.append((variant, (seed, scores)))
            for rate, s in zip(RATES, scores, strict=True):
                lines.append(line(f"  {variant} {rate:g} Hz", s))
        lines.append(f"  ({time.perf_counter() - started:.0f} s)")
    return "\n".join(lines), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=5)
    parser.add_argument("--seeds", default="", help="comma-separated world seeds (default: clock)")
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--shoppers", type=int, default=40)
    parser.add_argument("--uncalibrated", action="store_true", help="defaults only")
    parser.add_argument("--compare", action="store_true", help="also the uncalibrated defaults")
    parser.add_argument("--classic", action="store_true", help="the original 20 m shop")
    parser.add_argument("--jobs", type=int, default=1, help="worlds run in parallel")
    parser.add_argument("--tune", default="", help="presence Tuning overrides: name=value,...")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # NB: the simulated beacons' battery alerts, every world
    TUNING.update({k: float(v) for k, v in (i.split("=") for i in args.tune.split(",") if i)})
    if args.seeds:
        seeds = [int(x) for x in args.seeds.split(",")]
    else:
        base = time.time_ns() % 1_000_000_007
        seeds = [(base + 7919 * n) % 1_000_000_007 for n in range(args.worlds)]
    print(f"world seeds: {','.join(str(s) for s in seeds)}", flush=True)
    fit = None if args.uncalibrated else _calibrator()
    variants: list[tuple[str, bool]] = [("calibrated" if fit else "defaults", fit is not None)]
    if args.compare and fit is not None:
        variants.append(("defaults", False))
    results: dict[str, list[tuple[int, tuple[Score, ...]]]] = {v: [] for v, _ in variants}
    jobs = [(seed, args.hours, args.shoppers, args.classic, variants) for seed in seeds]
    with multiprocessing.Pool(max(1, args.jobs)) as pool:
        for text, per_variant in pool.imap(_world, jobs):
            print(text, flush=True)
            for variant, item in per_variant:
                results[variant].append(item)
    for variant, _ in variants:
        print(f"== {variant}: pooled over {len(seeds)} worlds", flush=True)
        for index, rate in enumerate(RATES):
            per_world = [(seed, scores[index]) for seed, scores in results[variant]]
            print(line(f"pooled {rate:g} Hz", pooled(s for _, s in per_world)), flush=True)
            worst_seed, worst = max(per_world, key=lambda item: badness(item[1], rate))
            print(line(f"worst {rate:g} Hz ({worst_seed})", worst), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
