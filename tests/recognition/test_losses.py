"""How long a member lost inside is waited for: what this store's own losses call for."""

from __future__ import annotations

from storeedge.core.track import Losses, Track
from storeedge.core.tuning import Tuning


def _lost(losses: Losses, seconds: float, silent: float) -> None:
    """A member inside without staying evidence for ``seconds`` (``silent`` of them not
    heard at all), then heard staying again."""
    track = Track("c", inside=True, last_inside=1000.0, lost_silence=silent)
    losses.stayed(track, 1000.0 + seconds)
    assert track.last_inside == 1000.0 + seconds
    assert track.lost_silence == 0.0


def test_until_the_store_is_known_a_member_lost_inside_gets_the_longest_wait() -> None:
    tuning = Tuning()
    losses = Losses(tuning)
    for _ in range(tuning.losses_learn - 1):
        _lost(losses, 12.0, 0.0)
    assert losses.floor == tuning.depart_unseen_s


def test_a_store_that_loses_shoppers_only_briefly_waits_the_least() -> None:
    tuning = Tuning()
    losses = Losses(tuning)
    for n in range(200):  # short losses, and long ones while still heard faintly
        _lost(losses, 70.0 if n % 10 == 0 else 12.0, 8.0)
    assert losses.floor == tuning.depart_unseen_min_s


def test_a_store_whose_shelves_hide_shoppers_for_a_minute_waits_longer() -> None:
    tuning = Tuning()
    losses = Losses(tuning)
    for n in range(200):  # one loss in twenty: 60 s without a sound, then back
        _lost(losses, 60.0 if n % 20 == 0 else 12.0, 45.0 if n % 20 == 0 else 2.0)
    assert losses.floor == 1.25 * 60.0
    track = Track("fast", interval=0.25)
    assert track.unseen_timeout(tuning, losses.floor) == 75.0
    slow = Track("slow", interval=1.0)
    assert slow.unseen_timeout(tuning, losses.floor) == tuning.depart_unseen_s


def test_the_wait_follows_the_store_as_its_losses_change() -> None:
    tuning = Tuning()
    losses = Losses(tuning)
    for n in range(200):
        _lost(losses, 60.0 if n % 20 == 0 else 12.0, 45.0 if n % 20 == 0 else 2.0)
    assert losses.floor > tuning.depart_unseen_min_s
    for _ in range(tuning.losses_kept):  # the shelves moved: losses are short now
        _lost(losses, 10.0, 0.0)
    assert losses.floor == tuning.depart_unseen_min_s


def test_a_moment_without_staying_evidence_is_not_a_loss() -> None:
    tuning = Tuning()
    losses = Losses(tuning)
    for _ in range(500):
        _lost(losses, 2.0, 2.0)
    assert losses.floor == tuning.depart_unseen_s  # nothing counted: still unknown


def test_a_slow_phone_not_seen_leaving_waits_its_intervals_in_full() -> None:
    tuning = Tuning()
    floor = tuning.depart_unseen_min_s  # NB: a store that loses shoppers only briefly
    assert Track("fast", interval=0.25).unseen_timeout(tuning, floor) == floor
    assert Track("1 Hz, lossy", interval=1.5).unseen_timeout(tuning, floor) == 135.0
    slowest = Track("slowest", interval=4.0)
    assert slowest.unseen_timeout(tuning, floor) == tuning.depart_unseen_slow_s
