"""The link's in-flight window: outbox rows out at QoS 1, deleted only after a good PUBACK.

At most ``window`` outbox rows are handed to paho at a time (so paho's own
queue is never deeper than the window); a row is deleted only after a PUBACK
with a success reason code; on a failure code it is retried after a delay.
After a reconnect paho resends its in-flight rows (same bytes, DUP set) before
we hand it anything newer; a new client (protocol fallback, restart) starts
again from the oldest stored row (:meth:`Publisher.reset`).

NB: paho may run ``on_publish`` before ``publish()`` has returned the message
id (when another thread drives the loop); acknowledgements for ids we have not
registered yet are parked in ``_early`` and settled as soon as the id is known.
Messages that are not outbox rows (status, replies) are registered with
:meth:`Publisher.side` so their PUBACKs are not mistaken for rows'.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import Final

import paho.mqtt.client as paho
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from storeedge.adapters.mqtt_inbound import Topics
from storeedge.adapters.mqtt_wire import CloudEventProperties
from storeedge.adapters.outbox import Outbox, OutboxRow

_LOGGER = logging.getLogger(__name__)

RETRY_FAILED_PUBACK_S: Final = 5.0


class Publisher:
    """Rows in flight, their PUBACKs, retries and the watchdog. Link thread only."""

    def __init__(
        self,
        outbox: Outbox,
        topics: Topics,
        *,
        window: int,
        ack_timeout_s: float,
        counters: collections.Counter[str],
    ) -> None:
        self._outbox = outbox
        self._topics = topics
        self._window = max(1, window)
        self.ack_timeout = ack_timeout_s
        self._counters = counters
        self._properties = CloudEventProperties()
        self._inflight: dict[int, tuple[OutboxRow, float]] = {}
        self._early: dict[int, ReasonCode] = {}
        self._side_mids: set[int] = set()
        self._acked: list[OutboxRow] = []
        self._retry: collections.deque[tuple[float, OutboxRow]] = collections.deque()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def reset(self) -> None:
        """A new client has no in-flight messages: hand every stored row out again."""
        self._inflight.clear()
        self._early.clear()
        self._retry.clear()
        self._outbox.rewind()

    def side(self, mid: int) -> None:
        """``mid`` is not an outbox row (status, reply): its PUBACK settles nothing."""
        self._side_mids.add(mid)

    # --- out ---------------------------------------------------------------------------------

    def publish_more(self, client: paho.Client, v5: bool) -> None:
        room = self._window - len(self._inflight)
        if room <= 0:
            return
        rows: list[OutboxRow] = []
        now = time.monotonic()
        while self._retry and self._retry[0][0] <= now and len(rows) < room:
            rows.append(self._retry.popleft()[1])
        if len(rows) < room:
            rows.extend(self._outbox.fetch(room - len(rows)))
        for row in rows:
            envelope = self._envelope(row, v5)
            if envelope is None:
                self._acked.append(row)
                continue
            topic, props = envelope
            info = client.publish(topic, row.payload, qos=1, properties=props)
            self._inflight[info.mid] = (row, now)
            self._counters["published"] += 1
            early = self._early.pop(info.mid, None)
            if early is not None:
                self._settle(info.mid, early)

    def _envelope(self, row: OutboxRow, v5: bool) -> tuple[str, Properties | None] | None:
        typed = self._properties.for_payload(row.payload)
        if typed is None:
            self._counters["invalid_rows"] += 1
            _LOGGER.warning("outbox row %d is not a CloudEvent; discarded", row.sequence)
            return None
        kind, props = typed
        topic = self._topics.event(kind.removeprefix("storeedge."))
        if not v5:
            return topic, None
        return topic, props

    # --- back --------------------------------------------------------------------------------

    def on_publish(self, mid: int, reason: ReasonCode) -> None:
        if mid in self._side_mids:
            self._side_mids.discard(mid)
            return
        if mid not in self._inflight:
            self._early[mid] = reason
            return
        self._settle(mid, reason)

    def _settle(self, mid: int, reason: ReasonCode) -> None:
        row, _sent = self._inflight.pop(mid)
        if reason.is_failure:
            self._counters[f"puback_failed.{reason.getName()}"] += 1
            _LOGGER.warning("broker refused event %d: %s; retrying later", row.sequence, reason)
            self._retry.append((time.monotonic() + RETRY_FAILED_PUBACK_S, row))
            return
        self._acked.append(row)

    def settle_acks(self) -> None:
        """Hands the acknowledged rows to the outbox for deletion."""
        if self._acked:
            self._counters["acked"] += len(self._acked)
            self._outbox.ack(self._acked)
            self._acked = []

    def stalled(self) -> bool:
        """True (counted) when the oldest row in flight has waited for its PUBACK too long."""
        if not self._inflight:
            return False
        oldest = min(sent for _row, sent in self._inflight.values())
        if time.monotonic() - oldest <= self.ack_timeout:
            return False
        self._counters["ack_timeouts"] += 1
        return True

    def restart_clocks(self) -> None:
        """After dropping a stalled connection: each resend gets its own time again."""
        for mid, (row, _sent) in list(self._inflight.items()):
            self._inflight[mid] = (row, time.monotonic())
