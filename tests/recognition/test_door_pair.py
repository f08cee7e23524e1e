"""The door: one entrance receiver by the door and a second one a few metres inside.

These drive :class:`Presence` directly with levels a walker and a passer-by produce
(normalised dBm: -62 at 1 m), so each rule is seen on its own.
"""

from __future__ import annotations

from storeedge.config import ScannerSettings
from storeedge.core.presence import Presence, Tuning

T0 = 1_000.0
DOOR = (10.0, 0.0)
SCANNERS = (
    # NB: listed inner first, so the door order must come from the positions
    ScannerSettings("entrance-in", "floor", "entrance", position=(10.0, 4.0)),
    ScannerSettings("entrance", "entrance", "entrance", position=(10.0, 1.5)),
    ScannerSettings("floor-a", "floor", "floor", position=(5.0, 11.0)),
    ScannerSettings("kiosk", "kiosk", "kiosk", position=(3.0, 5.0)),
)


def _presence() -> Presence:
    return Presence(SCANNERS, door=DOOR)


def _play(presence: Presence, steps: list[tuple[float, str, float]]) -> list[tuple[float, str]]:
    """Feeds (seconds after T0, scanner, level); returns (when, kind) of each change."""
    out = []
    for at, scanner, level in steps:
        change = presence.observe("C-1", scanner, level, None, T0 + at)
        if change is not None:
            out.append((at, change.kind))
    return out


def _every(start: float, stop: float, hz: float) -> list[float]:
    n = round((stop - start) * hz)
    return [start + i / hz for i in range(n)]


def _walk_in() -> list[tuple[float, str, float]]:
    """A weak phone (body loss) walking in: the door receiver, then the inner one, neither
    loud enough on its own."""
    steps = [(t, "entrance", -66.0) for t in _every(0.0, 1.5, 4.0)]
    for t in _every(1.5, 4.0, 4.0):
        steps.append((t, "entrance", -72.0))
        steps.append((t + 0.01, "entrance-in", -66.0))
    return steps


def test_without_positions_the_door_receiver_is_the_first_listed() -> None:
    listed = (
        ScannerSettings("entrance", "entrance", "entrance"),
        ScannerSettings("entrance-in", "floor", "entrance"),
    )
    changes = _play(Presence(listed), _walk_in())
    assert changes
    assert changes[0][1] == "arrive"
    backwards = (listed[1], listed[0])  # NB: the inner one first: walking in looks like out
    assert _play(Presence(backwards), _walk_in()) == []


def test_walking_between_the_two_receivers_arrives_within_three_seconds() -> None:
    changes = _play(_presence(), _walk_in())  # NB: SCANNERS lists the inner one first
    assert changes
    assert changes[0][1] == "arrive"
    assert changes[0][0] <= 3.0


def test_a_passer_by_heard_by_both_at_once_does_not_arrive() -> None:
    # NB: on the pavement in front of the open door: much nearer the door receiver, and
    # both receivers' best readings come at the same moment
    steps = []
    for t in _every(0.0, 3.0, 4.0):
        steps.append((t, "entrance", -66.0))
        steps.append((t + 0.01, "entrance-in", -70.0))
    assert _play(_presence(), steps) == []


def test_one_door_level_peak_arrives_at_once() -> None:
    steps = [(t, "entrance", -53.0) for t in _every(0.0, 1.0, 4.0)]
    changes = _play(_presence(), steps)
    assert changes
    assert changes[0] == (0.0, "arrive")


def test_a_lucky_packet_among_many_is_not_a_peak() -> None:
    # NB: a 10 Hz phone passing outside: one packet at -55 among -70s; the mean of the
    # strongest few is what counts
    steps = []
    for i, t in enumerate(_every(0.0, 3.0, 10.0)):
        steps.append((t, "entrance", -55.0 if i == 10 else -70.0))
    assert _play(_presence(), steps) == []


def test_the_inner_receiver_keeps_a_shopper_in_at_its_own_level() -> None:
    presence = _presence()
    _play(presence, [(t, "entrance", -56.0) for t in _every(0.0, 1.0, 4.0)])
    # browsing 2 m from the inner receiver, weak phone: -74 there, nothing elsewhere
    _play(presence, [(t, "entrance-in", -74.0) for t in _every(1.0, 120.0, 4.0)])
    assert presence.expire(T0 + 120.0) == []
    track = presence.get("C-1")
    assert track is not None
    assert track.inside
    assert track.last_inside >= T0 + 119.0


def _walked_in_and_browsed(presence: Presence) -> None:
    """In through the door, then a minute browsing near ``floor-a``."""
    _play(presence, [(t, "entrance", -56.0) for t in _every(0.0, 1.0, 4.0)])
    _play(presence, [(t, "floor-a", -60.0) for t in _every(1.0, 60.0, 4.0)])


def _passed_the_door(presence: Presence) -> None:
    """From 60 to 62 s, heard by the door receiver at the level of the way in."""
    _play(presence, [(t, "entrance", -60.0) for t in _every(60.0, 62.0, 4.0)])


def test_after_the_door_it_takes_one_more_receiver_to_stay_in() -> None:
    presence = _presence()
    _walked_in_and_browsed(presence)
    _passed_the_door(presence)
    # then, walking away on the pavement: faint, through the glass, by three receivers
    outside = []
    for t in _every(62.0, 80.0, 4.0):
        outside += [(t, "entrance", -84.0), (t, "entrance-in", -85.0), (t, "kiosk", -85.0)]
    _play(presence, outside)
    track = presence.get("C-1")
    assert track is not None
    assert track.last_inside < T0 + 64.0
    # NB: gone once out of the kiosk's range (it heard them last at 79.75 s), not sooner
    assert presence.expire(T0 + 80.0) == []
    assert presence.expire(T0 + 82.0) == ["C-1"]


def test_the_window_receivers_keep_a_shopper_in_unless_the_door_heard_them_last() -> None:
    deep, leaving = _presence(), _presence()
    for presence in (deep, leaving):
        _walked_in_and_browsed(presence)
    _passed_the_door(leaving)
    # NB: -82 at the kiosk: a weak phone in the shop, or a walker just outside its window
    for presence in (deep, leaving):
        _play(presence, [(t, "kiosk", -82.0) for t in _every(62.0, 80.0, 4.0)])
    assert deep.expire(T0 + 80.0) == []
    assert leaving.expire(T0 + 80.0) == []  # NB: still heard by the kiosk, inside or not
    assert deep.expire(T0 + 82.0) == []
    assert leaving.expire(T0 + 82.0) == ["C-1"]


def test_browsing_by_the_door_still_heard_inside_is_not_leaving() -> None:
    browsing, walked_out = _presence(), _presence()
    for presence in (browsing, walked_out):
        _walked_in_and_browsed(presence)
        _passed_the_door(presence)
    # NB: by the door, no staying evidence: the door receiver, and a floor one weakly
    near = []
    for t in _every(62.0, 120.0, 4.0):
        near += [(t, "entrance", -75.0), (t, "floor-a", -90.0)]
    _play(browsing, near)
    _play(walked_out, [(t, "entrance", -75.0) for t in _every(62.0, 120.0, 4.0)])
    assert walked_out.expire(T0 + 120.0) == ["C-1"]
    assert browsing.expire(T0 + 120.0) == []
    assert browsing.expire(T0 + 123.0) == ["C-1"]  # NB: then unheard inside: gone


def test_the_defaults_follow_how_many_receivers_watch_the_door() -> None:
    pair = _presence()
    single = Presence([s for s in SCANNERS if s.id != "entrance-in"], door=DOOR)
    assert pair.tuning == Tuning()
    assert single.tuning == Tuning.for_door(1)
    assert single.tuning.heard_after_door == 0
    assert pair.tuning.heard_after_door == 1


def test_the_kiosk_vouches_only_for_who_is_close() -> None:
    # NB: a window shopper outside, heard through the glass by the kiosk near it
    window = [(t, "kiosk", -80.0) for t in _every(0.0, 30.0, 4.0)]
    assert _play(_presence(), window) == []
    # a shopper who slipped in unheard and stands near the kiosk
    near = [(t, "kiosk", -72.0) for t in _every(0.0, 30.0, 4.0)]
    changes = _play(_presence(), near)
    assert changes
    assert changes[0][1] == "arrive"
    assert 25.0 <= changes[0][0] <= 26.0
    # the floor receivers vouch for in-store levels further away
    floor = [(t, "floor-a", -73.5) for t in _every(0.0, 30.0, 4.0)]
    assert _play(_presence(), floor)[0][1] == "arrive"
