"""Scores a pipeline's events against a world's ground truth (bench and tests)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from storeedge.core.events import Event
from storeedge.simulators.world import MemberTruth

FALSE_DEPARTURE_GRACE_S = 5.0  # a departure this close before the exit is just early
ARRIVAL_SLACK_S = 10.0


@dataclass(slots=True)
class _Detected:
    arrived: float
    departed: float | None
    zones: list[tuple[float, str]]


@dataclass(slots=True)
class Score:
    arrivals: list[float] = field(default_factory=list)  # latency after the door crossing
    departures: list[float] = field(default_factory=list)
    missed_visits: int = 0
    false_arrivals: int = 0
    false_departures: int = 0
    member_hours: float = 0.0
    passers_by: int = 0
    zone_right_s: float = 0.0
    zone_total_s: float = 0.0


def pooled(scores: Iterable[Score]) -> Score:
    """Several runs' scores as one (every visit, passer-by and member-hour together)."""
    out = Score()
    for s in scores:
        out.arrivals += s.arrivals
        out.departures += s.departures
        out.missed_visits += s.missed_visits
        out.false_arrivals += s.false_arrivals
        out.false_departures += s.false_departures
        out.member_hours += s.member_hours
        out.passers_by += s.passers_by
        out.zone_right_s += s.zone_right_s
        out.zone_total_s += s.zone_total_s
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _detected(events: Iterable[Event]) -> dict[str, list[_Detected]]:
    out: dict[str, list[_Detected]] = defaultdict(list)
    for event in events:
        cid = event.data.get("customer_id")
        if not isinstance(cid, str):
            continue
        if event.type == "storeedge.customer.arrived":
            out[cid].append(_Detected(event.time, None, [(event.time, event.data["zone"])]))
        elif event.type == "storeedge.customer.zone_changed" and out[cid]:
            out[cid][-1].zones.append((event.time, event.data["zone"]))
        elif event.type == "storeedge.customer.departed" and out[cid]:
            out[cid][-1].departed = event.time
    return out


def score(truths: Iterable[MemberTruth], events: list[Event], end: float) -> Score:
    detected = _detected(events)
    result = Score()
    for truth in truths:
        visits = truth.visits()
        found = detected.get(truth.customer_id, [])
        if truth.role == "passer-by":
            result.passers_by += 1
        _score_member(result, truth, visits, found, end)
    return result


def _score_member(
    result: Score,
    truth: MemberTruth,
    visits: list[tuple[float, float]],
    found: list[_Detected],
    end: float,
) -> None:
    for start, stop in visits:
        result.member_hours += (stop - start) / 3600.0
        match = next((d for d in found if start - ARRIVAL_SLACK_S <= d.arrived <= stop), None)
        if match is None:
            result.missed_visits += 1
            result.arrivals.append(float("inf"))  # NB: a missed visit counts as never arriving
            continue
        result.arrivals.append(match.arrived - start)
        departed = match.departed if match.departed is not None else end
        if departed >= stop - FALSE_DEPARTURE_GRACE_S:
            result.departures.append(departed - stop)
        _zones(result, truth, match, start, min(stop, departed))
    for d in found:
        inside = any(s - ARRIVAL_SLACK_S <= d.arrived <= e + ARRIVAL_SLACK_S for s, e in visits)
        if not inside:
            result.false_arrivals += 1
        if d.departed is not None and any(
            s < d.departed < e - FALSE_DEPARTURE_GRACE_S for s, e in visits
        ):
            result.false_departures += 1


def _zones(result: Score, truth: MemberTruth, d: _Detected, start: float, stop: float) -> None:
    t = max(start, d.arrived)
    index = 0
    while t < stop:
        while index + 1 < len(d.zones) and d.zones[index + 1][0] <= t:
            index += 1
        real = truth.layout.zone(truth.path.at(t))
        if real is not None:
            result.zone_total_s += 1.0
            result.zone_right_s += 1.0 if d.zones[index][1] == real else 0.0
        t += 1.0
