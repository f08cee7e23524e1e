"""The MQTT link to central: drains the outbox at QoS 1 and applies what central sends.

One thread owns the paho client and runs its network loop by hand
(:func:`~storeedge.adapters.mqtt_session.network`), so ``publish``,
``on_publish``, ``on_message`` and the reconnect logic never race each other.

The parts: :mod:`~storeedge.adapters.mqtt_session` (client, TLS, connect,
protocol fallback, backoff), :mod:`~storeedge.adapters.mqtt_publisher` (the
in-flight window over the outbox), :mod:`~storeedge.adapters.mqtt_inbound`
(validation and apply of what central sends); this module wires them to one
thread and owns the status topic (``online`` after every CONNACK, the Will,
``offline`` on a clean stop).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from storeedge.adapters.cache import LocalCache
from storeedge.adapters.mqtt_inbound import Ack, InboundHandler, InboundRouter, Reply, Topics
from storeedge.adapters.mqtt_publisher import RETRY_FAILED_PUBACK_S, Publisher
from storeedge.adapters.mqtt_session import Session, discard, network, new_properties
from storeedge.adapters.outbox import Outbox
from storeedge.config import Settings
from storeedge.core.events import encode_json
from storeedge.core.timefmt import format_time

_LOGGER = logging.getLogger(__name__)

ERASE_SCRUB_WAIT_S: Final = 2.0  # an erasure waits this long for the outbox to record its scrub


class MqttLink:
    """Publisher and subscriber for one edge. ``start``/``stop`` from any thread."""

    def __init__(
        self,
        settings: Settings,
        outbox: Outbox,
        cache: LocalCache,
        inbound: InboundHandler,
        boot_id: str,
        version: str,
        *,
        window: int = 64,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 30.0,
        ack_timeout_s: float | None = None,
        session_expiry_s: int = 7 * 24 * 3600,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._mqtt = settings.mqtt
        self._topics = Topics(settings.store.id, settings.store.edge_id)
        self._router = InboundRouter(
            self._topics,
            cache,
            inbound,
            after_erase=lambda _cid: outbox.request_scrub(ERASE_SCRUB_WAIT_S),
            wall=wall,
        )
        self._boot_id = boot_id
        self._version = version
        self._wall = wall
        self.client_id = f"storeedge-{settings.store.id}-{settings.store.edge_id}"
        self.counters: collections.Counter[str] = collections.Counter()
        self._session = Session(
            self._mqtt,
            self.client_id,
            window=max(1, window),
            session_expiry_s=session_expiry_s,
            backoff_min_s=backoff_min_s,
            backoff_max_s=backoff_max_s,
            counters=self.counters,
            wall=wall,
        )
        self._publisher = Publisher(
            outbox,
            self._topics,
            window=window,
            ack_timeout_s=ack_timeout_s or float(max(self._mqtt.keepalive_s, 5) * 2),
            counters=self.counters,
        )
        self._client: paho.Client | None = None
        self._generation = 0  # NB: one per CONNACK; an ack from an older connection is void
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        if not self._mqtt.tls:
            _LOGGER.warning(
                "MQTT link to %s:%d is PLAINTEXT (tls = false in the config)",
                self._mqtt.host,
                self._mqtt.port,
            )
        resumed = self._router.resume_pending()
        if resumed:
            _LOGGER.info("resumed %d commands committed before a restart", resumed)
        self._thread = threading.Thread(target=self._run, name="storeedge-mqtt", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Says ``offline`` on the status topic, disconnects cleanly, joins the thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                _LOGGER.warning("MQTT link did not stop within %.1f s", timeout)
            self._thread = None

    # --- health ----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._session.connected

    @property
    def healthy(self) -> bool:
        return self._session.connected

    @property
    def protocol(self) -> str:
        return self._session.protocol_name

    @property
    def last_error(self) -> str:
        return self._session.last_error

    @property
    def inbound_counters(self) -> dict[str, int]:
        return dict(self._router.counters)

    def status(self) -> dict[str, Any]:
        return {
            "connected": self._session.connected,
            "protocol": self.protocol,
            "broker": f"{self._mqtt.host}:{self._mqtt.port}",
            "tls": self._mqtt.tls,
            "online_since": self._session.online_since,
            "inflight": self._publisher.inflight,
            "last_error": self._session.last_error,
            "counters": dict(self.counters),
            "inbound": dict(self._router.counters),
        }

    def _next_backoff(self) -> float:
        return self._session.next_backoff()

    # --- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    self._step()
                except Exception:  # NB: the link must outlive any bug in one step
                    self.counters["loop_errors"] += 1
                    _LOGGER.exception("MQTT link step failed")
                    self._drop_socket("internal error")
                    self._stopping.wait(self._next_backoff())
            self._shutdown()
        finally:
            self._session.connected = False

    def _step(self) -> None:
        session = self._session
        self._router.retry(time.monotonic())  # NB: incomplete erasures, online or not
        if session.rebuild and self._client is not None:
            discard(self._client)
            self._client = None
            session.rebuild = False
        if self._client is None:
            self._client = self._new_client()
        if not session.socket_open:
            will = self._status_payload("offline", self._wall())
            if not session.connect(self._client, self._topics.status, will):
                self._stopping.wait(self._next_backoff())
            return
        rc = network(self._client, 0.02)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._drop_socket(paho.error_string(rc))
            self._stopping.wait(self._next_backoff())
            return
        if session.connected:
            self._publisher.settle_acks()
            self._publisher.publish_more(self._client, session.v5)
            self._watchdog()
        elif time.monotonic() - session.connect_started > self._client.connect_timeout + 5:
            self._drop_socket("no CONNACK")

    def _new_client(self) -> paho.Client:
        client = self._session.new_client()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self._publisher.reset()
        return client

    def _drop_socket(self, why: str) -> None:
        self._session.drop_socket(self._client, why, self._publisher.inflight)

    def _watchdog(self) -> None:
        """A link that swallows publishes without PUBACKs is treated as down."""
        if self._publisher.stalled():
            self._drop_socket(f"no PUBACK for {self._publisher.ack_timeout:.0f} s")
            self._publisher.restart_clocks()

    # --- paho's callbacks ------------------------------------------------------------------

    def _status_payload(self, state: str, since: float) -> bytes:
        return encode_json(
            {
                "state": state,
                "boot_id": self._boot_id,
                "version": self._version,
                "since": format_time(since),
            }
        )

    def _on_connect(
        self,
        client: paho.Client,
        _userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        if not self._session.connack(flags, reason):
            return
        self._generation += 1
        since = self._session.online_since or self._wall()
        info = client.publish(
            self._topics.status, self._status_payload("online", since), qos=1, retain=True
        )
        self._publisher.side(info.mid)
        if not flags.session_present:
            self._session.subscribe(client, self._topics.subscriptions)

    def _on_disconnect(
        self,
        _client: paho.Client,
        _userdata: object,
        _flags: paho.DisconnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        self._session.disconnected(reason)

    def _on_publish(
        self,
        _client: paho.Client,
        _userdata: object,
        mid: int,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        self._publisher.on_publish(mid, reason)

    def _on_message(self, client: paho.Client, _userdata: object, msg: paho.MQTTMessage) -> None:
        reply = self._replier(client, msg)
        self._router.handle(msg.topic, bytes(msg.payload), reply, self._acker(client, msg))

    def _acker(self, client: paho.Client, msg: paho.MQTTMessage) -> Ack:
        """PUBACK for ``msg``, if still on the connection it came in on (else redelivered)."""
        mid, qos, generation = msg.mid, msg.qos, self._generation

        def ack() -> None:
            if qos > 0 and generation == self._generation and self._session.connected:
                client.ack(mid, qos)

        return ack

    def _replier(self, client: paho.Client, msg: paho.MQTTMessage) -> Reply | None:
        """The response topic, as asked; the router decides whether it may be used."""
        props = msg.properties
        topic = getattr(props, "ResponseTopic", None) if props is not None else None
        if not isinstance(topic, str):
            return None
        correlation = getattr(props, "CorrelationData", None)

        def reply(body: bytes) -> None:
            out = new_properties(PacketTypes.PUBLISH)
            out.PayloadFormatIndicator = 1
            out.ContentType = "application/json"
            if isinstance(correlation, bytes | bytearray):
                out.CorrelationData = bytes(correlation)
            info = client.publish(topic, body, qos=1, properties=out)
            self._publisher.side(info.mid)

        return Reply(topic, reply)

    # --- stopping --------------------------------------------------------------------------

    def _shutdown(self) -> None:
        client = self._client
        if client is None:
            return
        if self._session.connected:
            self._publisher.settle_acks()
            info = client.publish(
                self._topics.status,
                self._status_payload("offline", self._wall()),
                qos=1,
                retain=True,
            )
            deadline = time.monotonic() + 1.0
            while not info.is_published() and time.monotonic() < deadline:
                if network(client, 0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
            self._publisher.settle_acks()
            self._session.closing = True
            client.disconnect()
            network(client, 0.05)
        discard(client)
        self._session.connected = False
        self._session.socket_open = False


__all__ = ["RETRY_FAILED_PUBACK_S", "MqttLink", "new_properties"]
