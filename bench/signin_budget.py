"""How many staff PIN guesses an attacker gets per minute, against what hashing alone allows.

    .venv/bin/python bench/signin_budget.py [--minutes 30] [--addresses 300]

Baseline, measured in this run: the time of one check of a real scrypt PIN hash
(werkzeug's default), and what that alone would allow with the two concurrent
checks the guard permits (``2 * 60 / t`` guesses a minute). Then the guard itself
(``storeedge.web.auth.PinGuard``) is driven on a simulated clock, as fast as it
answers, for ``--minutes``: from one address, and from ``--addresses`` addresses
taking turns. Printed: guesses evaluated per minute, the first minute (the bursts)
and the steady state, and the ratio to the baseline. Also the expected time to find
a 4- and a 6-digit PIN at the steady rate (half the space).
"""

from __future__ import annotations

import argparse
import logging
import time

from werkzeug.security import check_password_hash, generate_password_hash

from storeedge.web.auth import PinGuard, Verdict


class SimClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def attack(minutes: int, addresses: int) -> tuple[int, int]:
    """(evaluated in the first minute, evaluated over the whole run)."""
    clock = SimClock()
    # NB: a cheap hash: the budget, not the hash, is what is measured here.
    guard = PinGuard(generate_password_hash("246813", method="pbkdf2:sha256:1"), clock)
    first = total = 0
    step = 0.5  # an attempt from each address every half second of simulated time
    end = clock.now + minutes * 60
    start = clock.now
    while clock.now < end:
        for n in range(addresses):
            client = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
            if guard.locked_out(client):
                continue
            if guard.check(client, f"{n % 1000000:06d}") is Verdict.WRONG:
                total += 1
                if clock.now - start < 60:
                    first += 1
        clock.now += step
    return first, total


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--addresses", type=int, default=300)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # NB: the guard's warnings are the attack's, by design

    pin_hash = generate_password_hash("2468")  # werkzeug's default: scrypt
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        check_password_hash(pin_hash, "0000")
    per_check = (time.perf_counter() - started) / rounds
    baseline = 2 * 60 / per_check
    print(
        f"baseline: one scrypt check {per_check * 1000:.0f} ms; "
        f"hashing alone allows {baseline:.0f} guesses/min with 2 concurrent checks"
    )

    for label, count in (("1 address", 1), (f"{args.addresses} addresses", args.addresses)):
        first, total = attack(args.minutes, count)
        steady = (total - first) / max(1, args.minutes - 1)
        print(
            f"{label}: first minute {first} guesses, then {steady:.2f}/min "
            f"({steady / baseline:.4f}x baseline) over {args.minutes} min; "
            f"4-digit PIN expected in {5000 / steady / 60:.0f} h, "
            f"6-digit in {500000 / steady / 1440:.0f} days"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
