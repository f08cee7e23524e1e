"""The outbox's intake: the bounded in-memory queue between the emitters and the writer thread.

Emitters (the core thread, the outbox's own alerts) append events; the MQTT
link adds acknowledgements; the writer thread takes a batch of both, stores it,
and gives back what it could not store. One condition variable guards it all.

NB: a batch closes at ``batch`` events or ``window_s`` after its oldest event
arrived; acknowledgements close one at ``ack_batch`` or ``ack_window_s``
(deletions only have to happen eventually, so they are grouped more widely).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from storeedge.core.events import Event, Lane

_LOGGER = logging.getLogger(__name__)

Ack = tuple[Lane, int]  # (lane, sequence) of a row the broker has
DropCounts = collections.Counter[tuple[Lane, str]]  # (lane, reason) -> events never sequenced


class OutboxClosedError(RuntimeError):
    """``emit`` after ``close``: the event cannot be stored any more."""


@dataclass(slots=True)
class Batch:
    """What the writer took in one turn."""

    events: list[Event] = field(default_factory=list)
    acks: set[Ack] = field(default_factory=set)
    drops: DropCounts = field(default_factory=collections.Counter)
    stop: bool = False

    @property
    def empty(self) -> bool:
        return not self.events and not self.acks and not self.drops


class Intake:
    """The queue, the pending acknowledgements and the flags the writer reacts to. Thread-safe."""

    def __init__(
        self,
        *,
        queue_limit: int,
        batch: int,
        window_s: float,
        ack_batch: int,
        ack_window_s: float,
    ) -> None:
        self.cond = threading.Condition()
        self._queue: collections.deque[tuple[float, Event]] = collections.deque()
        self._queue_limit = max(queue_limit, batch)
        self._batch = batch
        self._window = window_s
        self._ack_batch = ack_batch
        self._ack_window = ack_window_s
        self.acks: set[Ack] = set()  # NB: read (not written) by Outbox.fetch without the lock
        self._acks_since = 0.0
        self._unsequenced: DropCounts = collections.Counter()
        self.scrub_requested = False
        # NB: a scrub's watermark must cover every event queued before it was asked for,
        # also those still waiting behind a full batch: count what went in and what the
        # writer has taken for good (the queue is FIFO, so that is always a prefix).
        self._appended = 0
        self._taken = 0
        self._scrub_target = 0
        self._scrub_asked = 0  # tickets handed out by request_scrub
        self._scrub_done = 0  # the last ticket whose watermark is committed
        self._busy = False
        self._held = 0  # events the writer has taken and not yet stored or given back
        self.closing = False
        self.disk_full = False
        self.stats: collections.Counter[str] = collections.Counter()

    # --- emitters ----------------------------------------------------------------------------

    def put(self, event: Event) -> None:
        """Queues ``event``; blocks only when the queue is full and the event may not drop."""
        lane = event.lane
        with self.cond:
            warned_at = time.monotonic()
            while len(self._queue) + self._held >= self._queue_limit and not self.closing:
                if lane.may_drop:
                    reason = "disk_full" if self.disk_full else "queue_full"
                    self._unsequenced[(lane, reason)] += 1
                    self.cond.notify_all()
                    return
                self.stats["backpressure_waits"] += 1
                self.cond.wait(0.5)
                if time.monotonic() - warned_at > 5.0:
                    _LOGGER.warning("outbox full: %s waits (back-pressure)", event.type)
                    warned_at = time.monotonic()
            if self.closing:
                raise OutboxClosedError(f"outbox closed; {event.type} {event.id} not stored")
            self._queue.append((time.monotonic(), event))
            self._appended += 1
            self.stats["emitted"] += 1
            if len(self._queue) >= self._batch or len(self._queue) == 1:
                self.cond.notify_all()

    def put_now(self, event: Event) -> None:
        """Queues ``event`` past the limit (the outbox's own alerts about itself)."""
        with self.cond:
            self._queue.append((time.monotonic(), event))
            self._appended += 1
            self.cond.notify_all()

    def request_scrub(self, wait_s: float) -> bool:
        """Asks for a scrub after everything queued so far; True once its watermark is committed.

        Waits at most ``wait_s`` (0: not at all). The request stands either way.
        """
        deadline = time.monotonic() + wait_s
        with self.cond:
            self.scrub_requested = True
            self._scrub_target = self._appended
            self._scrub_asked += 1
            ticket = self._scrub_asked
            self.cond.notify_all()
            while self._scrub_done < ticket:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.05))
        return True

    def scrub_covered(self, deferred: int) -> bool:
        """After a commit that recorded a watermark (``deferred`` events go back to the queue):
        True, and the request is settled, if that watermark covers every event it had to."""
        with self.cond:
            if self._taken - deferred < self._scrub_target:
                return False
            self.scrub_requested = False
            self._scrub_done = self._scrub_asked
            self.cond.notify_all()
            return True

    # --- the link ----------------------------------------------------------------------------

    def add_acks(self, acks: Iterable[Ack]) -> None:
        with self.cond:
            if not self.acks:
                self._acks_since = time.monotonic()
            for ack in acks:
                self.acks.add(ack)
                self.stats["acked"] += 1
            if len(self.acks) >= self._ack_batch:
                self.cond.notify_all()

    # --- the writer --------------------------------------------------------------------------

    def take(self) -> Batch:
        """Waits until a batch is due (or a periodic idle pass), then hands it over."""
        with self.cond:
            self._busy = False
            self._held = 0
            self.cond.notify_all()
            idle_until = time.monotonic() + 1.0
            while True:
                now = time.monotonic()
                if self.closing:
                    break
                if len(self._queue) >= self._batch or len(self.acks) >= self._ack_batch:
                    break
                waits = []
                if self._queue:
                    waits.append(self._queue[0][0] + self._window - now)
                if self.acks:
                    waits.append(self._acks_since + self._ack_window - now)
                if self._unsequenced or self.scrub_requested:
                    waits.append(0.0)
                if not waits:
                    if now >= idle_until:
                        break  # NB: periodic pass so a pending scrub is checked when idle
                    waits.append(idle_until - now)
                wait = min(waits)
                if wait <= 0:
                    break
                self.cond.wait(wait)
            count = min(self._batch, len(self._queue))
            batch = Batch(
                events=[self._queue.popleft()[1] for _ in range(count)],
                acks=self.acks,
                drops=self._unsequenced,
                stop=self.closing,
            )
            self.acks = set()
            self._unsequenced = collections.Counter()
            self._busy = not batch.empty
            self._held = len(batch.events)
            self._taken += len(batch.events)
            self.cond.notify_all()
            return batch

    def give_back(self, events: list[Event], acks: set[Ack], drops: DropCounts) -> None:
        """Puts back, in front and in order, what the writer could not store."""
        with self.cond:
            now = time.monotonic()
            for event in reversed(events):
                self._queue.appendleft((now, event))
            self._taken -= len(events)
            self._held = 0
            self.acks |= acks
            self._unsequenced.update(drops)

    def sleep(self, seconds: float) -> None:
        """The writer's backoff: cut short by ``close``."""
        with self.cond:
            if not self.closing:
                self.cond.wait(seconds)

    def finished(self) -> None:
        """The writer thread is leaving."""
        with self.cond:
            self._busy = False
            self.cond.notify_all()

    # --- waiting and closing -----------------------------------------------------------------

    def wait_idle(self, timeout: float) -> bool:
        """Until everything queued so far is committed and no scrub waits to be recorded."""
        deadline = time.monotonic() + timeout
        with self.cond:
            self.cond.notify_all()
            while self._queue or self._busy or self.scrub_requested:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify_all()

    def queued(self) -> int:
        with self.cond:
            return len(self._queue)
