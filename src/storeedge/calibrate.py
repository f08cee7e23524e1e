"""``storeedge calibrate``: the technician's tool (docs/operations.md, "The calibration walk").

Reads a recording of the calibration walk, picks out the calibration identity's
advertisements (its profile, as central sends it), labels them with the steps the
technician noted, fits the store's calibration (:mod:`storeedge.core.fitting`),
writes it as JSON for ``[presence] calibration_file`` and prints a report:
per-receiver offsets, how far apart the door and the pavement are, the walk's
own arrival and departure latencies, and warnings.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from storeedge.core.calibration import Calibration, to_document
from storeedge.core.fitting import Report, Sample, Step, fit
from storeedge.core.ports import AdvertRecord
from storeedge.core.presence import door_order
from storeedge.core.profiles import ProfileError, parse_profile
from storeedge.core.recognition import Recognizer
from storeedge.core.records import RecordReader
from storeedge.core.settings import Settings
from storeedge.core.walk import Latencies, walk_latencies

_LOGGER = logging.getLogger(__name__)
STEP_NAMES = ("outside", "door", "inside", "end")


class StepsError(ValueError):
    """A steps file line that cannot be read (with its line number)."""


def read_steps(lines: Iterable[str], scanner_ids: Sequence[str]) -> list[Step]:
    """``<time> <step>`` per line; time as Unix seconds or ISO 8601 with a zone."""
    steps: list[Step] = []
    for number, raw in enumerate(lines, 1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) != 2:
            raise StepsError(f"line {number}: expected '<time> <step>'")
        when, step = parts
        try:
            t = float(when)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(when)
            except ValueError:
                raise StepsError(f"line {number}: {when!r} is not a time") from None
            if parsed.tzinfo is None:
                message = f"line {number}: {when!r} needs a time zone (e.g. Z)"
                raise StepsError(message) from None
            t = parsed.timestamp()
        known = step in STEP_NAMES or (step.startswith("at:") and step[3:] in scanner_ids)
        if not known:
            raise StepsError(f"line {number}: unknown step {step!r}")
        if steps and t < steps[-1][0]:
            raise StepsError(f"line {number}: steps must be in time order")
        steps.append((t, step))
    if not steps:
        raise StepsError("no steps")
    return steps


def _tx_correction(record: AdvertRecord) -> float:
    from storeedge.core.anonymous import tx_at_0m
    from storeedge.core.presence import REFERENCE_TX_0M

    tx0 = tx_at_0m(record)
    return 0.0 if tx0 is None else tx0 - REFERENCE_TX_0M


def samples_of(
    records: Iterable[AdvertRecord], settings: Settings, profile: dict[str, Any]
) -> list[Sample]:
    """The calibration identity's readings: (t, scanner, level after offset and Tx power)."""
    from storeedge.adapters.crypto import aes128_ecb

    identity = parse_profile(profile)
    recognizer = Recognizer(aes128_ecb)
    offsets = {s.id: s.rssi_offset_db for s in settings.scanners}
    out: list[Sample] = []
    loaded = False
    for record in records:
        if not loaded:
            recognizer.load([identity], record.t)
            loaded = True
        recognizer.maintain(record.t)
        offset = offsets.get(record.scanner)
        if offset is None or recognizer.resolve(record, record.t) != identity.customer_id:
            continue
        out.append((record.t, record.scanner, record.rssi + offset - _tx_correction(record)))
    return out


def fit_records(
    records: Iterable[AdvertRecord],
    settings: Settings,
    profile: dict[str, Any],
    steps: Sequence[Step],
) -> Calibration:
    """The bench's entry point: the same fit as the command, from records in memory."""
    calibration, _, _ = fit_samples(samples_of(records, settings, profile), settings, steps)
    return calibration


def fit_samples(
    samples: list[Sample], settings: Settings, steps: Sequence[Step]
) -> tuple[Calibration, Report, Latencies]:
    entrances = [s for s in settings.scanners if s.role == "entrance"]
    order = door_order(entrances, settings.store.door)
    calibration, report = fit(samples, steps, settings.scanners, order[0] if order else None)
    latencies = walk_latencies(samples, settings, steps, calibration)
    return calibration, report, latencies


def print_report(report: Report, latencies: Latencies, out: IO[str]) -> None:
    def say(text: str) -> None:
        out.write(text + "\n")

    say("calibration report")
    say("  advertisements per step: " + ", ".join(f"{k} {v}" for k, v in report.bursts.items()))
    for scanner_id, offset in report.offsets.items():
        say(f"  offset {scanner_id}: {offset:+.1f} dB")
    if report.exponent is not None:
        say(f"  path-loss exponent between receivers: {report.exponent:.2f}")
    if report.door_separation_db is not None:
        separation = report.door_separation_db
        say(f"  door separation (door receiver, doorway - pavement): {separation:.1f} dB")
    say(f"  walk-ins: {latencies.describe_arrivals()}")
    say(f"  walk-outs: {latencies.describe_departures()}")
    for warning in report.warnings + latencies.warnings:
        say(f"  WARNING: {warning}")


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from storeedge.config import load_or_exit
    from storeedge.recording import open_lines

    settings = load_or_exit(args.config)
    try:
        profile = json.loads(args.identity.read_text(encoding="utf-8"))
        parse_profile(profile)
        steps = read_steps(
            args.steps.read_text(encoding="utf-8").splitlines(), [s.id for s in settings.scanners]
        )
    except (OSError, ValueError, ProfileError) as exc:
        sys.stderr.write(f"storeedge: {exc}\n")
        return 2
    reader = RecordReader()
    try:
        with open_lines(args.recording) as lines:
            records = [r for r in (reader.parse(line) for line in lines) if r is not None]
    except (OSError, EOFError) as exc:
        sys.stderr.write(f"storeedge: reading {args.recording}: {exc}\n")
        return 1
    samples = samples_of(records, settings, profile)
    if not samples:
        sys.stderr.write("storeedge: the calibration identity is not in this recording\n")
        return 1
    calibration, report, latencies = fit_samples(samples, settings, steps)
    args.out.write_text(json.dumps(to_document(calibration), indent=1) + "\n", encoding="utf-8")
    print_report(report, latencies, sys.stdout)
    sys.stdout.write(f"calibration written to {args.out} ({reader.malformed} malformed lines)\n")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    calibrate = sub.add_parser(
        "calibrate",
        help="fit the store's presence calibration from a recorded walk",
        description="Reads a recording of the calibration walk and the steps noted during it, "
        "writes the calibration file for [presence] calibration_file and prints a report.",
    )
    calibrate.add_argument("recording", type=Path)
    calibrate.add_argument("--config", type=Path, required=True, help="TOML configuration file")
    calibrate.add_argument(
        "--identity", type=Path, required=True, help="the calibration identity's profile (JSON)"
    )
    calibrate.add_argument(
        "--steps", type=Path, required=True, help="the walk's steps: '<time> <step>' per line"
    )
    calibrate.add_argument("--out", type=Path, required=True, help="calibration file to write")
    calibrate.set_defaults(handler=_cmd_calibrate)
