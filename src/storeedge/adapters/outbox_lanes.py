"""The outbox's drop policy: which events fit, which stored rows make room, what is reported.

- The store holds at most ``capacity`` rows. When an event does not fit, the
  oldest rows of a lane that may drop (analytics first, then presence, never a
  lane above the incoming event's) are deleted, in chunks of 1 % of the
  capacity, and a ``storeedge.edge.dropped`` event is committed *in the same
  transaction*, naming the lane, the count, the reason and the exact
  ``sequences`` dropped (as ``[first, last]`` ranges). Central can thus tell a
  counted drop (listed) from a loss (a gap nobody listed).
- Critical and transaction events never drop: when they do not fit they are
  deferred (they wait in the queue, in decision order).
- Droppable events that met a full queue never got a sequence; they are
  counted in the next ``dropped`` event (``count``, no ``sequences``).
"""

from __future__ import annotations

import collections
import logging
import sqlite3
from collections.abc import Mapping
from typing import Final

from storeedge.adapters import outbox_db as db
from storeedge.adapters.outbox_intake import DropCounts
from storeedge.core.events import Event, EventFactory, Lane

_LOGGER = logging.getLogger(__name__)

DROPPABLE: Final = (Lane.ANALYTICS, Lane.PRESENCE)  # dropped in this order
MAX_RANGES_PER_EVENT: Final = 500


def fit(
    events: list[Event],
    drops: DropCounts,
    capacity: int,
    counts: Mapping[Lane, int],
) -> tuple[list[Event], list[Event], dict[Lane, int]]:
    """Decides which events fit, which stored rows must go for them, which wait.

    Returns ``(accepted, deferred, plan)``; droppable events with no room are
    counted into ``drops`` (reason ``outbox_full``).
    """
    room = capacity - sum(counts.values())
    left = {lane: counts[lane] for lane in DROPPABLE}
    plan: dict[Lane, int] = collections.Counter()
    accepted: list[Event] = []
    deferred: list[Event] = []
    chunk = max(1, capacity // 100)
    for event in events:
        if deferred and not event.lane.may_drop:
            deferred.append(event)  # NB: keeps the undroppable events in decision order
            continue
        if room <= 0:
            for lane in DROPPABLE:
                if lane >= event.lane and left[lane] > 0:
                    take = min(chunk, left[lane])
                    left[lane] -= take
                    plan[lane] += take
                    room += take
                    break
        if room > 0:
            accepted.append(event)
            room -= 1
        elif event.lane.may_drop:
            drops[(event.lane, "outbox_full")] += 1
        else:
            deferred.append(event)
    return accepted, deferred, plan


def drop_rows(
    conn: sqlite3.Connection,
    plan: Mapping[Lane, int],
    drops: DropCounts,
    factory: EventFactory,
    now: float,
    tally: collections.Counter[str],
) -> tuple[list[Event], dict[Lane, int]]:
    """Deletes the planned oldest rows; returns the ``dropped`` reports and the counts per lane.

    ``tally`` counts every dropped event by ``lane.reason`` (for the stats).
    """
    sequences: dict[tuple[Lane, str], list[int]] = collections.defaultdict(list)
    counts: dict[Lane, int] = {}
    for lane, count in plan.items():
        seqs = [r[0] for r in conn.execute(db.SELECT_OLDEST[lane], (count,))]
        if seqs:
            conn.execute(db.DELETE_UPTO[lane], (seqs[-1],))
            counts[lane] = len(seqs)
            sequences[(lane, "outbox_full")].extend(seqs)
    keys = set(sequences) | set(drops)
    reports: list[Event] = []
    for lane, reason in sorted(keys):
        seqs = sequences.get((lane, reason), [])
        unsequenced = drops.get((lane, reason), 0)
        spans = db.ranges(seqs)
        name = lane.name.lower()
        tally[f"{name}.{reason}"] += len(seqs) + unsequenced
        _LOGGER.warning(
            "outbox dropped %d %s events (%s), %d of them stored",
            len(seqs) + unsequenced,
            name,
            reason,
            len(seqs),
        )
        for start in range(0, max(len(spans), 1), MAX_RANGES_PER_EVENT):
            part = spans[start : start + MAX_RANGES_PER_EVENT]
            stored = sum(b - a + 1 for a, b in part)
            count = stored + (unsequenced if start == 0 else 0)
            data = {"lane": name, "count": count, "reason": reason, "sequences": part}
            reports.append(factory.make("storeedge.edge.dropped", data, now))
    return reports, counts
