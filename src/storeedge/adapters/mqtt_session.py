"""The link's connection to the broker: one paho client, TLS, the persistent session, fallback.

:class:`Session` builds the paho client, connects (MQTT 5 with a persistent
session, or 3.1.1), notices a refused or lost connection, switches protocol when
the broker does not speak the one tried (``protocol = "auto"``), and paces
reconnects with capped, jittered backoff. It knows nothing about the outbox:
the link tells it what to do on a new client and once it is online.

NB: one thread (the link's) calls everything here, including paho's callbacks,
because the link drives paho's network loop by hand (:func:`network`).
"""

from __future__ import annotations

import collections
import logging
import random
import select
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from storeedge.config import MqttSettings

_LOGGER = logging.getLogger(__name__)

_UNSUPPORTED_PROTOCOL: Final = frozenset({1, 132})  # 3.1.1 "unacceptable version", 5 "0x84"
SESSION_TAKEN_OVER: Final = 0x8E  # MQTT 5 DISCONNECT: another client connected with our id


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


def network(client: paho.Client, timeout: float) -> MQTTErrorCode:
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


def discard(client: paho.Client) -> None:
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


def _tls_context(mqtt: MqttSettings) -> _TrackingContext:
    context = _TrackingContext(ssl.PROTOCOL_TLS_CLIENT)
    if mqtt.ca_file:
        context.load_verify_locations(cafile=str(mqtt.ca_file))
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if mqtt.cert_file:
        key = str(mqtt.key_file) if mqtt.key_file else None
        context.load_cert_chain(str(mqtt.cert_file), key)
    return context


class Session:
    """Connection state of the one paho client. Called from the link's thread only."""

    def __init__(
        self,
        mqtt: MqttSettings,
        client_id: str,
        *,
        window: int,
        session_expiry_s: int,
        backoff_min_s: float,
        backoff_max_s: float,
        counters: collections.Counter[str],
        wall: Callable[[], float],
    ) -> None:
        self._mqtt = mqtt
        self.client_id = client_id
        self._window = window
        self._session_expiry = session_expiry_s
        self._backoff_min = backoff_min_s
        self._backoff_max = backoff_max_s
        self._counters = counters
        self._wall = wall
        self._rng = random.Random()
        self._attempt = 0
        self.protocol = (
            MQTTProtocolVersion.MQTTv311 if mqtt.protocol == "3.1.1" else MQTTProtocolVersion.MQTTv5
        )
        self.rebuild = False
        self._tls: _TrackingContext | None = None
        self.socket_open = False
        self.connected = False
        self.closing = False  # NB: set by the link's stop: the disconnect that follows is ours
        self.connect_started = 0.0
        self.online_since: float | None = None
        self.last_error = ""

    @property
    def v5(self) -> bool:
        return self.protocol == MQTTProtocolVersion.MQTTv5

    @property
    def protocol_name(self) -> str:
        return "5" if self.v5 else "3.1.1"

    def next_backoff(self) -> float:
        """Capped exponential backoff with full jitter (a fleet must not reconnect in step)."""
        self._attempt += 1
        ceiling = min(self._backoff_max, self._backoff_min * 2 ** min(self._attempt, 16))
        return self._rng.uniform(self._backoff_min / 2, ceiling)

    # --- the client ------------------------------------------------------------------------

    def new_client(self) -> paho.Client:
        """A fresh paho client; the caller sets its publish and message callbacks."""
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=self.protocol,
            clean_session=None if self.v5 else False,
            manual_ack=True,
            reconnect_on_failure=False,
        )
        client.max_inflight_messages_set(self._window + 8)
        client.connect_timeout = 5.0
        if self._mqtt.tls:
            self._tls = _tls_context(self._mqtt)
            client.tls_set_context(self._tls)
        if self._mqtt.username:
            client.username_pw_set(self._mqtt.username, self._mqtt.password)
        client.on_socket_open = _no_delay
        return client

    def connect(self, client: paho.Client, will_topic: str, will: bytes) -> bool:
        """Opens the socket and sends CONNECT; False (counted, logged) if that failed."""
        client.will_set(will_topic, will, qos=1, retain=True)
        try:
            if self.v5:
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
            self._counters["connect_failures"] += 1
            _LOGGER.warning(
                "MQTT connect to %s:%d failed: %s", self._mqtt.host, self._mqtt.port, exc
            )
            return False
        self.socket_open = True
        self.connect_started = time.monotonic()
        return True

    def drop_socket(self, client: paho.Client | None, why: str, inflight: int) -> None:
        was_connected = self.connected
        self.connected = False
        self.socket_open = False
        if client is not None:
            client.disconnect()  # NB: closes our side; paho keeps in-flight for resend
        if was_connected:
            self._counters["disconnects"] += 1
            _LOGGER.warning("MQTT link lost (%s); %d in flight", why, inflight)
        self.last_error = why

    # --- paho's callbacks (through the link) -----------------------------------------------

    def connack(self, flags: paho.ConnectFlags, reason: ReasonCode) -> bool:
        """Records a CONNACK; True when the connection is up."""
        if reason.is_failure:
            self._counters["connack_refused"] += 1
            self.last_error = f"CONNACK {reason}"
            _LOGGER.warning("broker refused the connection: %s", reason)
            if reason.value in _UNSUPPORTED_PROTOCOL and self._mqtt.protocol == "auto":
                self._switch_protocol()
            return False
        self.connected = True
        self._attempt = 0
        self.online_since = self._wall()
        self._counters["connects"] += 1
        _LOGGER.info(
            "MQTT %s connected to %s:%d (session present: %s)",
            self.protocol_name,
            self._mqtt.host,
            self._mqtt.port,
            flags.session_present,
        )
        return True

    def _switch_protocol(self) -> None:
        self.protocol = MQTTProtocolVersion.MQTTv311 if self.v5 else MQTTProtocolVersion.MQTTv5
        _LOGGER.warning("broker does not speak that MQTT version; trying %s", self.protocol_name)
        self.rebuild = True  # NB: not here, inside paho's callback: on the next step
        self.socket_open = False

    def subscribe(self, client: paho.Client, topics: Sequence[str]) -> None:
        if self.v5:
            options = SubscribeOptions(
                qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_ON_SUBSCRIBE
            )
            client.subscribe([(t, options) for t in topics])
        else:
            client.subscribe([(t, 1) for t in topics])

    def disconnected(self, reason: ReasonCode) -> None:
        if reason.value == SESSION_TAKEN_OVER:
            # NB: the edge cannot prevent this; the broker must tie the client id to the
            # edge's credentials (use_username_as_clientid, docs/sync.md). We say so loudly.
            self._counters["session_taken_over"] += 1
            _LOGGER.error(
                "another MQTT client connected with this edge's client id %s and took its "
                "session over; check the broker's credentials and ACL",
                self.client_id,
            )
        if self.connected and self.closing:
            _LOGGER.info("MQTT link closed (service stopping)")
        elif self.connected:
            self._counters["disconnects"] += 1
            _LOGGER.warning("MQTT disconnected: %s", reason)
        elif (
            self._mqtt.protocol == "auto"
            and self.socket_open
            and self.v5
            and self._counters["connects"] == 0
            and self._counters["connect_failures"] == 0
        ):
            # NB: some 3.1.1-only brokers just close the socket on a version-5 CONNECT
            self._counters["closed_before_connack"] += 1
            if self._counters["closed_before_connack"] >= 2:
                self._switch_protocol()
        self.connected = False
        self.socket_open = False
