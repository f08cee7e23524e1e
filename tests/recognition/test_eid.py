"""EID computation against the spec's example, and the batched variant the table uses."""

from __future__ import annotations

import pytest

from storeedge.adapters.crypto import aes128_ecb
from storeedge.core.eid import beacon_time, compute_eid, compute_window_eids, neighbour_eids

KEY = bytes(range(16))


def test_spec_examples() -> None:
    assert compute_eid(aes128_ecb, KEY, 10, 0).hex() == "df8e76bbfec4efc5"
    assert compute_eid(aes128_ecb, KEY, 10, 1024).hex() == "f7a6081d867e3474"


@pytest.mark.parametrize(
    ("k", "ts"), [(10, 1_763_906_400), (0, 65535), (15, 2**32 - 1), (4, 65530)]
)
def test_window_batch_matches_single_computation(k: int, ts: int) -> None:
    window = ts >> k
    windows = [window - 1, window, window + 1]
    expected = [compute_eid(aes128_ecb, KEY, k, (w << k) & 0xFFFFFFFF) for w in windows]
    assert compute_window_eids(aes128_ecb, KEY, k, windows) == expected
    assert list(neighbour_eids(aes128_ecb, KEY, k, window)) == expected


def test_beacon_time_applies_the_clock_offset() -> None:
    assert beacon_time(1000.9, 100) == 900
    assert beacon_time(5.0, 10) == 2**32 - 5
