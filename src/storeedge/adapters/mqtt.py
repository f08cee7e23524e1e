"""The MQTT link to central: drains the outbox at QoS 1 and applies what central sends.

One thread owns the paho client and runs its network loop by hand
(``client.loop``), so ``publish``, ``on_publish``, ``on_message`` and the
reconnect logic never race each other.

NB: paho may run ``on_publish`` before ``publish()`` has returned the message
id (when another thread drives the loop); acknowledgements for ids we have not
registered yet are parked in ``_early`` and settled as soon as the id is known.

Publishing: at most ``window`` outbox rows are handed to paho at a time (so
paho's own queue is never deeper than the window); a row is deleted only after
a PUBACK with a success reason code; on a failure code it is retried after a
delay. After a reconnect paho resends its in-flight rows (same bytes, DUP set)
before we hand it anything newer; a new client (protocol fallback, restart)
starts again from the oldest stored row.
"""

from __future__ import annotations

import collections
import logging
import random
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from storeedge.adapters.cache import LocalCache
from storeedge.adapters.mqtt_inbound import InboundHandler, InboundRouter, Topics
from storeedge.adapters.mqtt_wire import CloudEventProperties
from storeedge.adapters.outbox import Outbox, OutboxRow
from storeedge.config import Settings
from storeedge.core.events import encode_json
from storeedge.core.timefmt import format_time

_LOGGER = logging.getLogger(__name__)

_UNSUPPORTED_PROTOCOL: Final = frozenset({1, 132})  # 3.1.1 "unacceptable version", 5 "0x84"
RETRY_FAILED_PUBACK_S: Final = 5.0


def new_properties(packet_type: int) -> Properties:
    """MQTT 5 properties for one packet type."""
    return Properties(packet_type)  # type: ignore[no-untyped-call]  # paho leaves __init__ untyped


def _no_delay(_client: paho.Client, _userdata: object, sock: object) -> None:
    """Small packets go out at once: Nagle's delay would stall the in-flight window."""
    if isinstance(sock, socket.socket):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:  # NB: not fatal; only slower
            _LOGGER.debug("TCP_NODELAY not set: %s", exc)


def _network(client: paho.Client, timeout: float) -> MQTTErrorCode:
    """One turn of paho's network loop, driven through its external-loop API.

    NB: ``client.loop()`` would create a wake-up socket pair and write a byte into
    it for every publish (two syscalls per event), which only a second thread
    needs; this link has one thread, so it selects on the MQTT socket alone.
    """
    sock = client.socket()
    if sock is None:
        return MQTTErrorCode.MQTT_ERR_NO_CONN
    pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
    try:
        readable, writable, _ = select.select(
            [sock], [sock] if client.want_write() else [], [], 0.0 if pending else timeout
        )
    except (OSError, ValueError):
        return MQTTErrorCode.MQTT_ERR_CONN_LOST
    if readable or pending:
        rc = client.loop_read()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return rc
    if writable and client.socket() is not None:
        rc = client.loop_write()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return rc
    return client.loop_misc()


def _discard(client: paho.Client) -> None:
    """Closes a client we drop: its socket and the wake-up socket pair ``loop()`` made.

    NB: paho has no public call for this; ``_reset_sockets`` is what its own
    ``loop_forever`` uses on the way out.
    """
    try:
        client._reset_sockets()  # NB: private, see above
    except OSError as exc:
        _LOGGER.debug("closing an old MQTT client: %s", exc)


class _TrackingContext(ssl.SSLContext):
    """Remembers the last TLS socket it wrapped.

    NB: when the handshake fails, paho raises without closing the socket it was
    wrapping; we close it ourselves instead of leaking a descriptor per attempt.
    """

    last: ssl.SSLSocket | None = None

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        sock = super().wrap_socket(*args, **kwargs)
        self.last = sock
        return sock

    def close_last(self) -> None:
        if self.last is not None:
            try:
                self.last.close()
            except OSError as exc:
                _LOGGER.debug("closing a failed TLS socket: %s", exc)
            self.last = None


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
        self._settings = settings
        self._mqtt = settings.mqtt
        self._outbox = outbox
        self._topics = Topics(settings.store.id, settings.store.edge_id)
        self._router = InboundRouter(
            self._topics, cache, inbound, after_erase=lambda _cid: outbox.request_scrub(), wall=wall
        )
        self._boot_id = boot_id
        self._version = version
        self._window = max(1, window)
        self._backoff_min = backoff_min_s
        self._backoff_max = backoff_max_s
        self._ack_timeout = ack_timeout_s or float(max(self._mqtt.keepalive_s, 5) * 2)
        self._session_expiry = session_expiry_s
        self._wall = wall
        self._rng = random.Random()
        self._properties = CloudEventProperties()
        self.client_id = f"storeedge-{settings.store.id}-{settings.store.edge_id}"

        self._protocol = (
            MQTTProtocolVersion.MQTTv311
            if self._mqtt.protocol == "3.1.1"
            else MQTTProtocolVersion.MQTTv5
        )
        self._client: paho.Client | None = None
        self._rebuild = False
        self._tls: _TrackingContext | None = None
        self._socket_open = False
        self._connected = False
        self._connect_started = 0.0
        self._online_since: float | None = None
        self._inflight: dict[int, tuple[OutboxRow, float]] = {}
        self._early: dict[int, ReasonCode] = {}
        self._side_mids: set[int] = set()
        self._acked: list[OutboxRow] = []
        self._retry: collections.deque[tuple[float, OutboxRow]] = collections.deque()
        self._attempt = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.counters: collections.Counter[str] = collections.Counter()
        self.last_error = ""

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
        return self._connected

    @property
    def healthy(self) -> bool:
        return self._connected

    @property
    def protocol(self) -> str:
        return "5" if self._protocol == MQTTProtocolVersion.MQTTv5 else "3.1.1"

    @property
    def inbound_counters(self) -> dict[str, int]:
        return dict(self._router.counters)

    def status(self) -> dict[str, Any]:
        return {
            "connected": self._connected,
            "protocol": self.protocol,
            "broker": f"{self._mqtt.host}:{self._mqtt.port}",
            "tls": self._mqtt.tls,
            "online_since": self._online_since,
            "inflight": len(self._inflight),
            "last_error": self.last_error,
            "counters": dict(self.counters),
            "inbound": dict(self._router.counters),
        }

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
            self._connected = False

    def _step(self) -> None:
        if self._rebuild and self._client is not None:
            _discard(self._client)
            self._client = None
            self._rebuild = False
        if self._client is None:
            self._client = self._new_client()
        if not self._socket_open:
            if not self._connect(self._client):
                self._stopping.wait(self._next_backoff())
            return
        rc = _network(self._client, 0.02)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._drop_socket(paho.error_string(rc))
            self._stopping.wait(self._next_backoff())
            return
        if self._connected:
            self._settle_acks()
            self._publish_more()
            self._watchdog()
        elif time.monotonic() - self._connect_started > self._client.connect_timeout + 5:
            self._drop_socket("no CONNACK")

    def _next_backoff(self) -> float:
        """Capped exponential backoff with full jitter (a fleet must not reconnect in step)."""
        self._attempt += 1
        ceiling = min(self._backoff_max, self._backoff_min * 2 ** min(self._attempt, 16))
        return self._rng.uniform(self._backoff_min / 2, ceiling)

    # --- connecting ------------------------------------------------------------------------

    def _new_client(self) -> paho.Client:
        v5 = self._protocol == MQTTProtocolVersion.MQTTv5
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=self._protocol,
            clean_session=None if v5 else False,
            manual_ack=True,
            reconnect_on_failure=False,
        )
        client.max_inflight_messages_set(self._window + 8)
        client.connect_timeout = 5.0
        if self._mqtt.tls:
            self._tls = self._tls_context()
            client.tls_set_context(self._tls)
        if self._mqtt.username:
            client.username_pw_set(self._mqtt.username, self._mqtt.password)
        client.on_socket_open = _no_delay
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        # NB: a new client has no in-flight messages: hand every stored row out again
        self._inflight.clear()
        self._early.clear()
        self._retry.clear()
        self._outbox.rewind()
        return client

    def _tls_context(self) -> _TrackingContext:
        context = _TrackingContext(ssl.PROTOCOL_TLS_CLIENT)
        if self._mqtt.ca_file:
            context.load_verify_locations(cafile=str(self._mqtt.ca_file))
        else:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        if self._mqtt.cert_file:
            key = str(self._mqtt.key_file) if self._mqtt.key_file else None
            context.load_cert_chain(str(self._mqtt.cert_file), key)
        return context

    def _status_payload(self, state: str, since: float) -> bytes:
        return encode_json(
            {
                "state": state,
                "boot_id": self._boot_id,
                "version": self._version,
                "since": format_time(since),
            }
        )

    def _connect(self, client: paho.Client) -> bool:
        now = self._wall()
        client.will_set(
            self._topics.status, self._status_payload("offline", now), qos=1, retain=True
        )
        try:
            if self._protocol == MQTTProtocolVersion.MQTTv5:
                props = new_properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = self._session_expiry
                props.ReceiveMaximum = 32
                client.connect(
                    self._mqtt.host,
                    self._mqtt.port,
                    self._mqtt.keepalive_s,
                    clean_start=False,
                    properties=props,
                )
            else:
                client.connect(self._mqtt.host, self._mqtt.port, self._mqtt.keepalive_s)
        except (OSError, ValueError) as exc:
            if self._tls is not None:
                self._tls.close_last()
            self.last_error = f"connect: {exc}"
            self.counters["connect_failures"] += 1
            _LOGGER.warning(
                "MQTT connect to %s:%d failed: %s", self._mqtt.host, self._mqtt.port, exc
            )
            return False
        self._socket_open = True
        self._connect_started = time.monotonic()
        return True

    def _drop_socket(self, why: str) -> None:
        was_connected = self._connected
        self._connected = False
        self._socket_open = False
        if self._client is not None:
            self._client.disconnect()  # NB: closes our side; paho keeps in-flight for resend
        if was_connected:
            self.counters["disconnects"] += 1
            _LOGGER.warning("MQTT link lost (%s); %d in flight", why, len(self._inflight))
        self.last_error = why

    def _on_connect(
        self,
        client: paho.Client,
        _userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        if reason.is_failure:
            self.counters["connack_refused"] += 1
            self.last_error = f"CONNACK {reason}"
            _LOGGER.warning("broker refused the connection: %s", reason)
            if reason.value in _UNSUPPORTED_PROTOCOL and self._mqtt.protocol == "auto":
                self._switch_protocol()
            return
        self._connected = True
        self._attempt = 0
        self._online_since = self._wall()
        self.counters["connects"] += 1
        _LOGGER.info(
            "MQTT %s connected to %s:%d (session present: %s)",
            self.protocol,
            self._mqtt.host,
            self._mqtt.port,
            flags.session_present,
        )
        info = client.publish(
            self._topics.status,
            self._status_payload("online", self._online_since),
            qos=1,
            retain=True,
        )
        self._side_mids.add(info.mid)
        if not flags.session_present:
            self._subscribe(client)

    def _switch_protocol(self) -> None:
        self._protocol = (
            MQTTProtocolVersion.MQTTv311
            if self._protocol == MQTTProtocolVersion.MQTTv5
            else MQTTProtocolVersion.MQTTv5
        )
        _LOGGER.warning("broker does not speak that MQTT version; trying %s", self.protocol)
        self._rebuild = True  # NB: not here, inside paho's callback: on the next step
        self._socket_open = False

    def _subscribe(self, client: paho.Client) -> None:
        if self._protocol == MQTTProtocolVersion.MQTTv5:
            options = SubscribeOptions(
                qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_ON_SUBSCRIBE
            )
            client.subscribe([(t, options) for t in self._topics.subscriptions])
        else:
            client.subscribe([(t, 1) for t in self._topics.subscriptions])

    def _on_disconnect(
        self,
        _client: paho.Client,
        _userdata: object,
        _flags: paho.DisconnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        if self._connected:
            self.counters["disconnects"] += 1
            _LOGGER.warning("MQTT disconnected: %s", reason)
        elif (
            self._mqtt.protocol == "auto"
            and self._socket_open
            and self._protocol == MQTTProtocolVersion.MQTTv5
            and self.counters["connects"] == 0
            and self.counters["connect_failures"] == 0
        ):
            # NB: some 3.1.1-only brokers just close the socket on a version-5 CONNECT
            self.counters["closed_before_connack"] += 1
            if self.counters["closed_before_connack"] >= 2:
                self._switch_protocol()
        self._connected = False
        self._socket_open = False

    # --- publishing ------------------------------------------------------------------------

    def _publish_more(self) -> None:
        client = self._client
        assert client is not None
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
            envelope = self._envelope(row)
            if envelope is None:
                self._acked.append(row)
                continue
            topic, props = envelope
            info = client.publish(topic, row.payload, qos=1, properties=props)
            self._inflight[info.mid] = (row, now)
            self.counters["published"] += 1
            early = self._early.pop(info.mid, None)
            if early is not None:
                self._settle(info.mid, early)

    def _envelope(self, row: OutboxRow) -> tuple[str, Properties | None] | None:
        typed = self._properties.for_payload(row.payload)
        if typed is None:
            self.counters["invalid_rows"] += 1
            _LOGGER.warning("outbox row %d is not a CloudEvent; discarded", row.sequence)
            return None
        kind, props = typed
        topic = self._topics.event(kind.removeprefix("storeedge."))
        if self._protocol != MQTTProtocolVersion.MQTTv5:
            return topic, None
        return topic, props

    def _on_publish(
        self,
        _client: paho.Client,
        _userdata: object,
        mid: int,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
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
            self.counters[f"puback_failed.{reason.getName()}"] += 1
            _LOGGER.warning("broker refused event %d: %s; retrying later", row.sequence, reason)
            self._retry.append((time.monotonic() + RETRY_FAILED_PUBACK_S, row))
            return
        self._acked.append(row)

    def _settle_acks(self) -> None:
        if self._acked:
            self.counters["acked"] += len(self._acked)
            self._outbox.ack(self._acked)
            self._acked = []

    def _watchdog(self) -> None:
        """A link that swallows publishes without PUBACKs is treated as down."""
        if not self._inflight:
            return
        oldest = min(sent for _row, sent in self._inflight.values())
        if time.monotonic() - oldest > self._ack_timeout:
            self.counters["ack_timeouts"] += 1
            self._drop_socket(f"no PUBACK for {self._ack_timeout:.0f} s")
            for mid, (row, _sent) in list(self._inflight.items()):
                self._inflight[mid] = (row, time.monotonic())

    # --- inbound ---------------------------------------------------------------------------

    def _on_message(self, client: paho.Client, _userdata: object, msg: paho.MQTTMessage) -> None:
        reply = self._replier(client, msg)
        if self._router.handle(msg.topic, bytes(msg.payload), reply) and msg.qos > 0:
            client.ack(msg.mid, msg.qos)

    def _replier(
        self, client: paho.Client, msg: paho.MQTTMessage
    ) -> Callable[[bytes], None] | None:
        props = msg.properties
        topic = getattr(props, "ResponseTopic", None) if props is not None else None
        if not isinstance(topic, str) or not self._topics.safe_reply_topic(topic):
            return None
        correlation = getattr(props, "CorrelationData", None)

        def reply(body: bytes) -> None:
            out = new_properties(PacketTypes.PUBLISH)
            out.PayloadFormatIndicator = 1
            out.ContentType = "application/json"
            if isinstance(correlation, bytes | bytearray):
                out.CorrelationData = bytes(correlation)
            info = client.publish(topic, body, qos=1, properties=out)
            self._side_mids.add(info.mid)

        return reply

    # --- stopping --------------------------------------------------------------------------

    def _shutdown(self) -> None:
        client = self._client
        if client is None:
            return
        if self._connected:
            self._settle_acks()
            info = client.publish(
                self._topics.status,
                self._status_payload("offline", self._wall()),
                qos=1,
                retain=True,
            )
            deadline = time.monotonic() + 1.0
            while not info.is_published() and time.monotonic() < deadline:
                if _network(client, 0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
            self._settle_acks()
            client.disconnect()
            _network(client, 0.05)
        _discard(client)
        self._connected = False
        self._socket_open = False
