"""``storeedge record`` and ``storeedge replay`` (CONTRACTS sections 1 and 6).

Replay runs the very :class:`~storeedge.core.pipeline.Pipeline` of ``run`` on the
recording's clock (a :class:`~storeedge.core.clock.ManualClock` set to each
record's ``t``), as fast as it can, and prints each decided event as one sealed
CloudEvent per line on stdout; counts and logs go to stderr. Event ids come
from a seeded generator, so a replay is byte-for-byte repeatable.

Recordings hold shoppers' addresses: ``record`` refuses to write under the data
directory, and nothing of them reaches replay's output (only events).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import itertools
import json
import logging
import random
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from storeedge.config import Settings
from storeedge.core.clock import ManualClock
from storeedge.core.events import Event, EventFactory, UuidV7
from storeedge.core.pipeline import TICK_EVERY_S, Pipeline
from storeedge.core.ports import AdvertRecord, AdvertSource
from storeedge.core.profiles import CustomerProfile, ProfileError, parse_profile
from storeedge.core.records import RecordReader, record_to_json

_LOGGER = logging.getLogger(__name__)

DEFAULT_DRAIN_S = 120.0
DRAIN_STEP_S = 0.25
REPLAY_SEED = 0x5E


def say(text: str) -> None:
    """The CLI's own report, on stderr (stdout carries only events)."""
    sys.stderr.write(text + "\n")


# --- files ------------------------------------------------------------------------------


def open_lines(path: Path) -> IO[bytes]:
    """A recording, plain or gzip (by its magic bytes, whatever its name)."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]  # NB: GzipFile is a binary IO in practice; typeshed types it apart
    return path.open("rb")


def load_customers(path: Path) -> tuple[list[CustomerProfile], Counter[str]]:
    """A JSON array of profiles or JSON Lines; bad profiles are counted, not fatal."""
    counts: Counter[str] = Counter()
    text = path.read_text(encoding="utf-8")
    items: list[Any]
    try:
        document = json.loads(text)
        items = document if isinstance(document, list) else [document]
    except ValueError:
        items = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except ValueError:
                counts["customers.malformed.json"] += 1
    profiles = []
    for item in items:
        try:
            profiles.append(parse_profile(item))
        except ProfileError:
            counts["customers.malformed.profile"] += 1
    counts["customers"] = len(profiles)
    return profiles, counts


# --- replay -----------------------------------------------------------------------------


class StdoutSink:
    """Seals each event with a sequence from 1 and writes it as one line."""

    def __init__(self, out: IO[bytes], source: str) -> None:
        self._out = out
        self._source = source
        self.count = 0

    def emit(self, event: Event) -> None:
        self.count += 1
        self._out.write(event.seal(self._source, self.count) + b"\n")


def replay_lines(
    lines: Iterator[bytes] | IO[bytes],
    settings: Settings,
    profiles: list[CustomerProfile],
    out: IO[bytes],
    drain_s: float = DEFAULT_DRAIN_S,
) -> tuple[Counter[str], Pipeline]:
    """Feeds records through a fresh pipeline; returns the counts and the pipeline."""
    from storeedge.parts import build_pipeline

    clock = ManualClock(0.0)
    sink = StdoutSink(out, settings.source_uri)
    ids = UuidV7(random.Random(REPLAY_SEED).randbytes)
    pipeline = build_pipeline(settings, clock, sink, events=EventFactory(ids))
    reader = RecordReader()
    records = reader.read(lines)
    first = next(records, None)
    if first is None:
        return _counts(reader, pipeline, sink), pipeline
    clock.set(first.t)
    pipeline.load_profiles(profiles)
    # NB: what stands now (profiles, the EID table) lives as long as the replay: frozen,
    # the cyclic collector stops rescanning it while records come and go (~5 % of a replay).
    gc.freeze()
    try:
        _feed(itertools.chain((first,), records), clock, pipeline)
    finally:
        gc.unfreeze()
    _drain(clock, pipeline, drain_s)
    return _counts(reader, pipeline, sink), pipeline


def _feed(records: Iterator[AdvertRecord], clock: ManualClock, pipeline: Pipeline) -> None:
    """The replay's loop: each record on its own clock, timers when they are due."""
    on_advert, tick, set_clock = pipeline.on_advert, pipeline.tick, clock.set
    latest = clock.now()
    next_tick = float("-inf")
    for record in records:
        t = record.t
        if t > latest:  # NB: the clock ignores earlier times anyway; skip the call
            set_clock(t)
            latest = t
        try:
            on_advert(record)
            if t >= next_tick:  # NB: tick() would return at once in between
                tick()
                next_tick = t + TICK_EVERY_S
        except BrokenPipeError:
            raise  # NB: the reader of stdout went away (`| head`): stop, not a pipeline bug
        except Exception:  # NB: a bug must not end a replay; it is counted and logged
            pipeline.counters["replay.pipeline_error"] += 1
            _LOGGER.exception("pipeline failed on a record")


def _counts(reader: RecordReader, pipeline: Pipeline, sink: StdoutSink) -> Counter[str]:
    counts = reader.counts + pipeline.counters + pipeline.recognizer.counters
    counts["events"] = sink.count
    return counts


def _drain(clock: ManualClock, pipeline: Pipeline, drain_s: float) -> None:
    end = clock.now() + max(0.0, drain_s)
    while clock.now() < end:
        clock.advance(min(DRAIN_STEP_S, end - clock.now()))
        pipeline.tick()


def report(counts: Counter[str], seconds: float) -> None:
    malformed = {k: n for k, n in sorted(counts.items()) if k.startswith("malformed.")}
    others = {k: n for k, n in sorted(counts.items()) if not k.startswith("malformed.")}
    total_bad = sum(malformed.values())
    say(
        f"replay: {counts['records']} records, {total_bad} malformed lines, "
        f"{counts['events']} events in {seconds:.2f} s"
    )
    for key, value in malformed.items():
        say(f"  {key}: {value}")
    for key, value in others.items():
        if key not in ("records", "events"):
            say(f"  {key}: {value}")


# --- record -----------------------------------------------------------------------------


def inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


async def capture(sources: list[AdvertSource], out: IO[str], duration: float | None) -> int:
    written = 0

    def deliver(record: AdvertRecord) -> None:
        nonlocal written
        out.write(record_to_json(record) + "\n")
        written += 1

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(s.run(deliver)) for s in sources]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), duration)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return written
