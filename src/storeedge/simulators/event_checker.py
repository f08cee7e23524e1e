"""An independent checker of the events an edge sends (CONTRACTS section 3).

It knows only the contract: schema, topics, ``id`` uniqueness, ``sequence``
contiguity per source. Counted drops (``storeedge.edge.dropped`` events that
list their ``sequences``) are told apart from losses (gaps nobody listed).
"""

from __future__ import annotations

import collections
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Final

from storeedge.core.events import EVENT_TYPES, PREFIX

_TIME: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_SEQUENCE: Final = re.compile(r"^\d{20}$")
_SOURCE: Final = re.compile(r"^/stores/([^/]+)/edges/([^/]+)$")
_UUID: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def schema_problems(topic: str, event: object) -> list[str]:
    """What is wrong with one received event (empty when it is a valid contract event)."""
    if not isinstance(event, dict):
        return ["not a JSON object"]
    problems = []
    expected = {"specversion": "1.0", "datacontenttype": "application/json"}
    for key, value in expected.items():
        if event.get(key) != value:
            problems.append(f"{key} != {value}")
    if not isinstance(event.get("id"), str) or not _UUID.match(event["id"]):
        problems.append("id is not a UUID")
    source = event.get("source")
    match = _SOURCE.match(source) if isinstance(source, str) else None
    if match is None:
        problems.append("source malformed")
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        problems.append("unknown type")
    if not isinstance(event.get("time"), str) or not _TIME.match(event["time"]):
        problems.append("time not RFC 3339 with ms and Z")
    if not isinstance(event.get("sequence"), str) or not _SEQUENCE.match(event["sequence"]):
        problems.append("sequence not 20 digits")
    problems.extend(_data_problems(kind, event.get("data")))
    if match is not None and isinstance(kind, str):
        want = f"storeedge/v1/{match[1]}/{match[2]}/events/{kind.removeprefix(PREFIX)}"
        if topic != want:
            problems.append("topic does not match source and type")
    return problems


def _data_problems(kind: object, data: object) -> list[str]:
    if not isinstance(data, dict):
        return ["data not an object"]
    if isinstance(kind, str) and kind in EVENT_TYPES:
        missing = [f for f in EVENT_TYPES[kind][0] if f not in data]
        if missing:
            return [f"data lacks {','.join(missing)}"]
    return []


@dataclass
class _Source:
    seen: dict[int, str] = field(default_factory=dict)  # sequence -> id
    dropped: set[int] = field(default_factory=set)
    dropped_count: int = 0
    last_by_lane: dict[int, int] = field(default_factory=dict)
    max_sequence: int = 0


class EventChecker:
    """Feeds on (topic, payload) pairs; thread-safe; ``report()`` says what went wrong."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first: dict[str, bytes] = {}
        self._sources: dict[str, _Source] = collections.defaultdict(_Source)
        self.counts: collections.Counter[str] = collections.Counter()
        self.problems: list[str] = []

    def add(self, topic: str, payload: bytes) -> dict[str, Any] | None:
        """Checks one message; returns the decoded event when it is schema-valid."""
        try:
            event = json.loads(payload)
        except ValueError:
            event = None
        problems = schema_problems(topic, event)
        with self._lock:
            self.counts["received"] += 1
            if problems:
                self.counts["invalid"] += 1
                self._note(f"{topic}: {'; '.join(problems)}")
                return None
            assert isinstance(event, dict)
            self._track(event, payload)
        return event

    def _note(self, text: str) -> None:
        if len(self.problems) < 100:
            self.problems.append(text)

    def _track(self, event: dict[str, Any], payload: bytes) -> None:
        event_id = event["id"]
        first = self._first.get(event_id)
        if first is not None:
            self.counts["duplicates"] += 1
            if first != payload:
                self.counts["duplicates_different_bytes"] += 1
                self._note(f"duplicate {event_id} with different bytes")
            return
        self._first[event_id] = payload
        self.counts["unique"] += 1
        source = self._sources[event["source"]]
        sequence = int(event["sequence"])
        other = source.seen.get(sequence)
        if other is not None:
            self.counts["sequence_conflicts"] += 1
            self._note(f"sequence {sequence} carried by {other} and {event_id}")
            return
        source.seen[sequence] = event_id
        source.max_sequence = max(source.max_sequence, sequence)
        lane = int(EVENT_TYPES[event["type"]][1])
        if sequence < source.last_by_lane.get(lane, 0):
            self.counts["out_of_order"] += 1
        source.last_by_lane[lane] = max(source.last_by_lane.get(lane, 0), sequence)
        if event["type"] == "storeedge.edge.dropped":
            for first_seq, last_seq in event["data"].get("sequences", []):
                source.dropped.update(range(int(first_seq), int(last_seq) + 1))
            source.dropped_count += int(event["data"].get("count", 0))

    def gaps(self, source: str | None = None, upto: int | None = None) -> list[int]:
        """Sequences never received and not listed as dropped (losses)."""
        with self._lock:
            out: list[int] = []
            for name, state in self._sources.items():
                if source is not None and name != source:
                    continue
                top = state.max_sequence if upto is None else upto
                out.extend(
                    s for s in range(1, top + 1) if s not in state.seen and s not in state.dropped
                )
            return out

    def received_sequences(self, source: str) -> set[int]:
        with self._lock:
            return set(self._sources[source].seen)

    def dropped_sequences(self, source: str) -> set[int]:
        with self._lock:
            return set(self._sources[source].dropped)

    def report(self) -> dict[str, Any]:
        with self._lock:
            sources = {
                name: {
                    "max_sequence": s.max_sequence,
                    "received": len(s.seen),
                    "dropped_listed": len(s.dropped),
                    "dropped_counted": s.dropped_count,
                }
                for name, s in self._sources.items()
            }
            counts = dict(self.counts)
        lost = len(self.gaps())
        return {**counts, "lost": lost, "sources": sources, "problems": list(self.problems[:10])}
