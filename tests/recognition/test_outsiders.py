"""How long a member heard without door evidence waits to be taken for inside: what
this store's passers-by and window shoppers call for (``Outsiders``)."""

from __future__ import annotations

from storeedge.core.profiles import EidKey
from storeedge.core.track import Outsiders
from storeedge.core.tuning import Tuning

from .conftest import Rig, feed, silence


def test_until_the_store_is_known_the_longest_wait_holds() -> None:
    tuning = Tuning()
    outsiders = Outsiders(tuning)
    for _ in range(tuning.outside_learn - 1):
        outsiders.add(20.0)
    assert outsiders.dwell == tuning.dwell_s


def test_where_passers_by_only_pass_the_wait_falls_to_its_floor() -> None:
    tuning = Tuning()
    outsiders = Outsiders(tuning)
    for n in range(200):
        outsiders.add(15.0 + n % 30)
    assert outsiders.dwell == tuning.dwell_min_s


def test_window_shoppers_who_stay_at_the_glass_keep_the_wait_long() -> None:
    tuning = Tuning()
    outsiders = Outsiders(tuning)
    for n in range(200):  # one in ten stays at the window for 100 s
        outsiders.add(100.0 if n % 10 == 0 else 20.0)
    assert outsiders.dwell == 1.5 * 100.0
    for n in range(200):  # a window display that holds them for four minutes
        outsiders.add(240.0 if n % 10 == 0 else 20.0)
    assert outsiders.dwell == tuning.dwell_s


def test_a_member_heard_faintly_for_long_arrives_sooner_where_passers_by_pass(
    rig: Rig, jean_key: EidKey
) -> None:
    """Through the pipeline: before the store is known, two and a half minutes of faint
    entrance readings are no arrival; once thirty short passes were forgotten, they are."""
    feed(rig, jean_key, "entrance", -84, 150.0)
    silence(rig, 65.0)
    assert rig.presence_events() == []
    for _ in range(Tuning().outside_learn):
        feed(rig, jean_key, "entrance", -84, 20.0)
        silence(rig, 65.0)
    assert rig.presence_events() == []
    feed(rig, jean_key, "entrance", -84, 150.0)
    assert [kind for kind, _ in rig.presence_events()] == ["arrived"]
