"""Writes a simulated recording with its ground truth, ready for ``storeedge replay``.

    python -m simulators.store_walk --out DIR [--hours 1] [--rate 4] [--shoppers 40]
        [--passers-by 100] [--mix android=1] [--seed 1]

DIR receives ``recording.jsonl.gz`` (CONTRACTS section 1), ``customers.json``
(section 2), ``store.toml`` (the simulated shop's scanners) and ``truth.json``:
per member, the door crossings as visits ``[[in, out], ...]`` and the zone
timeline ``[[t, zone or null], ...]`` sampled every second.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

from storeedge.adapters.crypto import aes128_ecb
from storeedge.core.records import record_to_json
from storeedge.simulators import scenario as scen
from storeedge.simulators.world import World, store_toml

CHUNK_S = 10.0


def _mix(text: str) -> tuple[tuple[str, float], ...]:
    pairs = [item.split("=") for item in text.split(",") if item]
    return tuple((kind, float(share)) for kind, share in pairs)


def write(out: Path, sc: scen.Scenario, seed: int) -> int:
    """Simulates ``sc`` into ``out``; returns the number of records written."""
    out.mkdir(parents=True, exist_ok=True)
    world = World(aes128_ecb, seed)
    profiles = scen.build(world, sc, seed)
    written = 0
    t = sc.start
    with gzip.open(out / "recording.jsonl.gz", "wt", encoding="utf-8") as recording:
        while not world.done():
            t += CHUNK_S
            for record in world.step(t):
                recording.write(record_to_json(record) + "\n")
                written += 1
    (out / "customers.json").write_text(json.dumps(profiles, indent=1), encoding="utf-8")
    (out / "store.toml").write_text(store_toml(str(out / "data")), encoding="utf-8")
    truth = {"scenario": sc.__repr__(), "members": [m.to_json() for m in world.truth]}
    (out / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=4.0, help="Android advertising rate, Hz")
    parser.add_argument("--shoppers", type=int, default=40)
    parser.add_argument("--passers-by", type=int, default=100)
    parser.add_argument("--anonymous", type=int, default=60)
    parser.add_argument("--mix", default="android=1", help="e.g. android=0.6,iphone=0.3,tag=0.1")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sc = scen.Scenario(
        duration_s=args.hours * 3600.0,
        shoppers=args.shoppers,
        passers_by=args.passers_by,
        anonymous=args.anonymous,
        rate_hz=args.rate,
        mix=_mix(args.mix),
    )
    count = write(args.out, sc, args.seed)
    sys.stderr.write(f"{count} records written to {args.out / 'recording.jsonl.gz'}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
