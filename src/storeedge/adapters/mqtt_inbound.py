"""What central sends (CONTRACTS section 4): validated, committed to the cache, then handed on.

:class:`InboundRouter` is transport-free: the MQTT link gives it a topic, the
payload bytes, where a reply may go, and a way to acknowledge the message to
the broker, which the router calls once the message is dealt with. Every
payload is either applied whole (cache transaction first, then the
:class:`InboundHandler`) or rejected with a counted reason and a log line.
Nothing here raises into the network loop.

NB: an erasure is acknowledged only once it is complete: the cache file
scrubbed, the core's memory cleared (``on_erase`` returned) and the outbox's
scrub recorded on disk. Until then the message is held, not acknowledged (so a
restart gets it again from the broker's session), retried by :meth:`InboundRouter.retry`,
and later messages about the same customer wait behind it, in order.
"""

from __future__ import annotations

import collections
import logging
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from storeedge.adapters.cache import InboxState, LocalCache
from storeedge.core.catalog import CatalogError, parse_product, valid_sku
from storeedge.core.commands import (
    CONFIG_COMMAND,
    Command,
    InboundError,
    decode_payload,
    parse_command,
    parse_config,
)
from storeedge.core.events import encode_json
from storeedge.core.profiles import CustomerProfile, ProfileError, valid_customer_id

_LOGGER = logging.getLogger(__name__)

MAX_PROFILE_BYTES: Final = 256 * 1024
MAX_PRODUCT_BYTES: Final = 16 * 1024
MAX_COMMAND_BYTES: Final = 64 * 1024
MAX_HELD: Final = 1_000  # messages waiting behind incomplete erasures
RETRY_ERASE_S: Final = 1.0
_INDEX: Final = re.compile(r"\[\d+\]")

Ack = Callable[[], None]  # acknowledges the message to the broker (a no-op for QoS 0)


@dataclass(frozen=True, slots=True)
class Reply:
    """Where a command's reply was asked to go (the MQTT 5 response topic) and how to send it."""

    topic: str
    send: Callable[[bytes], None]


class InboundHandler(Protocol):
    """The application side of inbound sync; called on the MQTT thread after the cache commit."""

    def on_profile(self, profile: CustomerProfile) -> None: ...

    def on_erase(self, customer_id: str) -> None:
        """Returns once the core has forgotten the customer; raises (for instance
        TimeoutError) when that is not confirmed: the erasure is then retried."""
        ...

    def on_catalog(self, sku: str, product: dict[str, Any] | None) -> None: ...

    def on_command(self, name: str, event: dict[str, Any]) -> dict[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic names of one edge (CONTRACTS section 4)."""

    store: str
    edge: str

    @property
    def root(self) -> str:
        return f"storeedge/v1/{self.store}"

    @property
    def status(self) -> str:
        return f"{self.root}/{self.edge}/status"

    def event(self, short_type: str) -> str:
        return f"{self.root}/{self.edge}/events/{short_type}"

    @property
    def subscriptions(self) -> tuple[str, ...]:
        return (
            f"{self.root}/customers/+",
            f"{self.root}/catalog/+",
            f"{self.root}/{self.edge}/commands/+",
        )

    def classify(self, topic: str) -> tuple[str, str] | None:
        """``(kind, key)`` for an inbound topic, or None if it is not one of ours."""
        parts = topic.split("/")
        if (
            len(parts) == 5
            and parts[:3] == ["storeedge", "v1", self.store]
            and parts[3] in ("customers", "catalog")
        ):
            return parts[3], parts[4]
        if len(parts) == 6 and parts[:5] == ["storeedge", "v1", self.store, self.edge, "commands"]:
            return "commands", parts[5]
        return None

    @property
    def replies(self) -> str:
        """The only place command replies go: ``{root}/{edge}/replies/`` and below."""
        return f"{self.root}/{self.edge}/replies/"

    def reply_allowed(self, topic: str) -> bool:
        """A response topic we may publish to: concrete, bounded, under :attr:`replies`."""
        if len(topic) > 256 or any(c in topic for c in "+#\x00"):
            return False
        return topic.startswith(self.replies) and len(topic) > len(self.replies)


def reply_body(command_id: str, answer: dict[str, Any]) -> bytes:
    """The reply on the response topic (CONTRACTS 7): ``status``, ``reason``, ``command_id``."""
    return encode_json({"reason": "", **answer, "command_id": command_id})


def reason_key(reason: str) -> str:
    """A short, bounded counter key for a rejection reason (indices and values removed)."""
    head = reason.split(":", 1)[0].strip()
    return _INDEX.sub("[]", head)[:60] or "invalid"


class InboundRouter:
    """Validates and applies inbound payloads; counts every outcome."""

    def __init__(
        self,
        topics: Topics,
        cache: LocalCache,
        handler: InboundHandler,
        after_erase: Callable[[str], bool] | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._topics = topics
        self._cache = cache
        self._handler = handler
        self._after_erase = after_erase
        self._wall = wall
        self._held: dict[str, collections.deque[tuple[bytes, Ack]]] = {}
        self._held_count = 0
        self._cache_erased: set[str] = set()  # held erasures whose cache part is done
        self._retried = 0.0
        self.counters: collections.Counter[str] = collections.Counter()

    def handle(self, topic: str, payload: bytes, reply: Reply | None, ack: Ack) -> None:
        """Processes one message; calls ``ack`` once it may be acknowledged (now or later).

        After a storage error ``ack`` is never called: the broker redelivers the message
        once the edge reconnects.
        """
        kind_key = self._topics.classify(topic)
        if kind_key is None:
            self._reject("unknown", "topic", topic)
            ack()
            return
        kind, key = kind_key
        if kind == "customers" and key in self._held:
            self._hold(key, payload, ack)  # NB: nothing overtakes an incomplete erasure
            return
        if kind == "customers" and not payload and valid_customer_id(key):
            if self._erase(key):
                ack()
            else:
                self._hold(key, payload, ack)
            return
        if self._apply(kind, key, payload, reply):
            ack()

    def _apply(self, kind: str, key: str, payload: bytes, reply: Reply | None) -> bool:
        """Applies or rejects one message; False only when it must not be acknowledged."""
        try:
            if kind == "customers":
                self._customer(key, payload)
            elif kind == "catalog":
                self._product(key, payload)
            else:
                self._command(key, payload, reply)
        except (InboundError, ProfileError, CatalogError) as exc:
            self._reject(kind, str(exc), key)
        except sqlite3.Error:
            # NB: not acknowledged: the broker redelivers it once storage works again
            self.counters[f"{kind}.storage_error"] += 1
            _LOGGER.exception("inbound %s: cache write failed", kind)
            return False
        except Exception:  # NB: a handler bug must not stop the link or lose the ack
            self.counters[f"{kind}.internal_error"] += 1
            _LOGGER.exception("inbound %s: failed", kind)
        return True

    def _reject(self, kind: str, reason: str, key: str) -> None:
        self.counters[f"{kind}.rejected.{reason_key(reason)}"] += 1
        self.counters[f"{kind}.rejected"] += 1
        _LOGGER.warning("inbound %s %.12s rejected: %.200s", kind, key, reason)

    # --- customers -------------------------------------------------------------------------

    def _customer(self, customer_id: str, payload: bytes) -> None:
        if not valid_customer_id(customer_id):
            raise InboundError("customer_id: malformed in topic")
        raw = decode_payload(payload, MAX_PROFILE_BYTES)
        if not isinstance(raw, dict):
            raise ProfileError("profile: expected an object")
        if raw.get("customer_id") != customer_id:
            raise ProfileError("customer_id: does not match the topic")
        profile = self._cache.put_profile(raw)
        self.counters["customers.applied"] += 1
        self._handler.on_profile(profile)

    def _erase(self, customer_id: str) -> bool:
        """True once complete: cache file, core memory, outbox scrub on disk (repeatable)."""
        started = time.monotonic()
        why = self._erase_everywhere(customer_id)
        if why is not None:
            self.counters["customers.erase_incomplete"] += 1
            _LOGGER.warning(
                "erasure not complete (%s); not acknowledged, retried in %.0f s",
                why,
                RETRY_ERASE_S,
            )
            return False
        self._cache_erased.discard(customer_id)
        self.counters["customers.erased"] += 1
        _LOGGER.info("customer erased in %.0f ms", (time.monotonic() - started) * 1000)
        return True

    def _erase_everywhere(self, customer_id: str) -> str | None:
        """Why the erasure is not complete, or None when it is."""
        try:
            if customer_id not in self._cache_erased:  # NB: a retry does not VACUUM again
                self._cache.erase_customer(customer_id)
                self._cache_erased.add(customer_id)
            self._handler.on_erase(customer_id)
            if self._after_erase is not None and not self._after_erase(customer_id):
                return "outbox scrub not recorded yet"
        except Exception as exc:  # noqa: BLE001  # whatever failed, it is incomplete: retried
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return None

    def _hold(self, customer_id: str, payload: bytes, ack: Ack) -> None:
        if self._held_count >= MAX_HELD:
            # NB: not acknowledged either: the broker's session redelivers it after a reconnect
            self.counters["customers.held_overflow"] += 1
            self._cache_erased.discard(customer_id)  # NB: the redelivery starts from scratch
            return
        self._held.setdefault(customer_id, collections.deque()).append((payload, ack))
        self._held_count += 1
        self.counters["customers.held"] += 1

    @property
    def holding(self) -> int:
        """Messages waiting behind incomplete erasures."""
        return self._held_count

    def retry(self, now: float) -> None:
        """Retries incomplete erasures (at most every :data:`RETRY_ERASE_S`, monotonic ``now``)
        and applies, in order, what waited behind each; the link's thread calls it."""
        if not self._held or now - self._retried < RETRY_ERASE_S:
            return
        self._retried = now
        for customer_id in list(self._held):
            waiting = self._held[customer_id]
            while waiting:
                payload, ack = waiting[0]
                if not payload:
                    if not self._erase(customer_id):
                        break
                    ack()
                elif self._apply("customers", customer_id, payload, None):
                    ack()
                waiting.popleft()
                self._held_count -= 1
            if not waiting:
                del self._held[customer_id]
        # NB: counted from the end: a core that is slow to refuse still leaves the link
        # RETRY_ERASE_S of ordinary network turns between attempts
        self._retried = time.monotonic()

    # --- catalog ---------------------------------------------------------------------------

    def _product(self, sku: str, payload: bytes) -> None:
        if not valid_sku(sku):
            raise CatalogError("sku: malformed in topic")
        if not payload:
            self._cache.put_product(sku, None)
            self.counters["catalog.removed"] += 1
            self._handler.on_catalog(sku, None)
            return
        product = parse_product(sku, decode_payload(payload, MAX_PRODUCT_BYTES))
        self._cache.put_product(sku, product)
        self.counters["catalog.applied"] += 1
        self._handler.on_catalog(sku, product)

    # --- commands --------------------------------------------------------------------------

    def _command(self, name: str, payload: bytes, reply: Reply | None) -> None:
        if reply is not None and not self._topics.reply_allowed(reply.topic):
            # NB: a reply elsewhere could land on another edge's or central's topics
            raise InboundError("response_topic: not under this edge's replies/")
        command = parse_command(name, decode_payload(payload, MAX_COMMAND_BYTES))
        if command.name == CONFIG_COMMAND:
            parse_config(command)  # NB: reject malformed config before it reaches the inbox
        now = self._wall()
        state: InboxState = "expired" if command.expired(now) else "pending"
        new, _stored_state, stored_reply = self._cache.inbox_record(
            command.id, name, payload, now, command.expires_at, state
        )
        if not new:
            self.counters["commands.duplicate"] += 1
            if reply is not None and stored_reply is not None:
                reply.send(stored_reply)
            return
        if state == "expired":
            self.counters["commands.expired"] += 1
            _LOGGER.info("command %s %s expired before it arrived; not run", name, command.id)
            if reply is not None:
                reply.send(reply_body(command.id, {"status": "expired"}))
            return
        self.run(command, reply)

    def run(self, command: Command, reply: Reply | None) -> None:
        """Runs a committed command once and records its reply (also used at start)."""
        answer = self._execute(command)
        body = reply_body(command.id, answer or {"status": "ok"})
        self._cache.inbox_done(command.id, body)
        self.counters["commands.run"] += 1
        if reply is not None:
            reply.send(body)

    def _execute(self, command: Command) -> dict[str, Any] | None:
        if command.name == CONFIG_COMMAND:
            version, settings = parse_config(command)
            if not self._cache.apply_config(version, settings):
                self.counters["commands.config_stale"] += 1
                current = self._cache.config()
                stored = current[0] if current else None
                return {"status": "rejected", "reason": "stale", "version": stored}
            self.counters["commands.config_applied"] += 1
        try:
            return self._handler.on_command(command.name, dict(command.event))
        except Exception:  # NB: the command is finished either way; say it failed
            self.counters["commands.handler_error"] += 1
            _LOGGER.exception("command %s %s failed", command.name, command.id)
            return {"status": "rejected", "reason": "internal error"}

    def resume_pending(self) -> int:
        """Runs commands committed but not finished before a crash (at least once)."""
        count = 0
        for command_id, name, payload in self._cache.inbox_pending():
            try:
                command = parse_command(name, decode_payload(payload, MAX_COMMAND_BYTES))
            except InboundError:
                self._cache.inbox_done(command_id, None)
                continue
            if command.expired(self._wall()):
                self.counters["commands.expired"] += 1
                self._cache.inbox_done(command_id, reply_body(command_id, {"status": "expired"}))
                continue
            self.run(command, None)
            count += 1
        return count


__all__ = ["Ack", "InboundHandler", "InboundRouter", "Reply", "Topics", "reason_key"]
