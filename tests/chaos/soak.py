"""The acceptance counts of issue 4, printed as figures (not pass/fail).

.venv/bin/python tests/chaos/soak.py [--kills 20] [--restarts 10] [--faults 12]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from chaoskit import run_broker_restarts, run_kill9, run_link_faults


def say(line: str) -> None:
    """Protocol and report lines on stdout (this is a command-line tool)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--faults", type=int, default=12)
    parser.add_argument("--rate", type=float, default=150.0)
    args = parser.parse_args()
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="storeedge-soak-") as tmp:
        root = Path(tmp)
        runs = (
            ("kill9", lambda d: run_kill9(d, args.kills, args.rate)),
            ("broker-hard", lambda d: run_broker_restarts(d, args.restarts, args.rate)),
            ("broker-soft", lambda d: run_broker_restarts(d, args.restarts, args.rate, hard=False)),
            ("link", lambda d: run_link_faults(d, args.faults, args.rate)),
        )
        for name, run in runs:
            workdir = root / name
            workdir.mkdir()
            verdict = run(workdir)
            verdicts.append(verdict)
            say(verdict.line())
            for note in verdict.notes:
                say(f"  note: {note}")
    total_lost = sum(v.lost for v in verdicts)
    total_unexpected = sum(v.unexpected for v in verdicts)
    differing = sum(v.duplicates_different_bytes for v in verdicts)
    say(
        f"TOTAL: lost {total_lost}, unexpected {total_unexpected}, "
        f"differing duplicates {differing}, faults {sum(v.faults for v in verdicts)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
