"""``storeedge replay`` and ``storeedge record`` (CONTRACTS section 6).

The pipeline and the device sources come from the composition root
(``storeedge.parts``), the same as ``run``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import sys
import time
from pathlib import Path

from storeedge.config import load_or_exit
from storeedge.parts import device_sources
from storeedge.recording import (
    DEFAULT_DRAIN_S,
    capture,
    inside,
    load_customers,
    open_lines,
    replay_lines,
    report,
    say,
)


def _cmd_replay(args: argparse.Namespace) -> int:
    settings = load_or_exit(args.config)
    try:
        profiles, customer_counts = load_customers(args.customers)
        source = open_lines(args.recording)
    except OSError as exc:
        say(f"storeedge: {exc}")
        return 1
    started = time.perf_counter()
    out = sys.stdout.buffer
    with source:
        try:
            counts, _ = replay_lines(source, settings, profiles, out, args.drain)
        except BrokenPipeError:
            # NB: stdout's reader left; point stdout at /dev/null so exit does not complain.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            say(f"storeedge: reading {args.recording}: {exc}")
            return 1
    out.flush()
    report(counts + customer_counts, time.perf_counter() - started)
    return 0


def _cmd_record(args: argparse.Namespace) -> int:
    settings = load_or_exit(args.config)
    if inside(args.out, settings.data.dir):
        say("storeedge: recordings hold shoppers' addresses; write them outside the data dir")
        return 2
    sources, _ = device_sources(settings, args.simulate)
    opener = gzip.open if args.out.name.endswith(".gz") else open
    with opener(args.out, "wt", encoding="utf-8") as out:
        written = asyncio.run(capture(sources, out, args.duration))
    say(f"record: {written} records written to {args.out}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = sub.add_parser(
        "replay",
        help="feed a recording through the recognition pipeline",
        description="Replays a JSON Lines recording (.jsonl or .jsonl.gz) on its own clock "
        "and prints every decided event as one CloudEvent JSON per line.",
    )
    replay.add_argument("recording", type=Path)
    replay.add_argument("--config", type=Path, required=True, help="TOML configuration file")
    replay.add_argument("--customers", type=Path, required=True, help="profiles (JSON / JSONL)")
    replay.add_argument(
        "--drain",
        type=float,
        default=DEFAULT_DRAIN_S,
        metavar="SECONDS",
        help="advance the clock this long after the last record (default 120)",
    )
    replay.set_defaults(handler=_cmd_replay)

    record = sub.add_parser(
        "record",
        help="write live BLE scans as records",
        description="Writes every advertisement the configured scanners hear as JSON Lines "
        "(gzip when FILE ends in .gz) until Ctrl-C.",
    )
    record.add_argument("--config", type=Path, required=True, help="TOML configuration file")
    record.add_argument("--out", type=Path, required=True, metavar="FILE")
    record.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    record.add_argument(
        "--simulate", metavar="SCENARIO", default=None, help="record a simulated scenario"
    )
    record.set_defaults(handler=_cmd_record)
