"""The central platform, simulated: publishes profiles, catalog and commands; checks events.

Used by ``storeedge demo``, the end-to-end tests and the chaos tests. Run it
alone for a live summary of what an edge sends::

    python -m simulators.central --host 127.0.0.1 --port 1883 --store store-042
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from storeedge.adapters.mqtt import new_properties
from storeedge.core.events import encode_json
from storeedge.core.timefmt import format_time
from storeedge.simulators.event_checker import EventChecker

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    topic: str
    payload: bytes
    event: dict[str, Any]
    user_properties: tuple[tuple[str, str], ...]
    received_at: float


class CentralSimulator:
    """One MQTT client playing central for one store."""

    def __init__(
        self,
        host: str,
        port: int,
        store_id: str,
        *,
        client_id: str | None = None,
        persistent: bool = False,
        keep_events: bool = True,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.store_id = store_id
        self.checker = EventChecker()
        self.events: list[ReceivedEvent] = []
        self.status: dict[str, dict[str, Any]] = {}
        self.replies: dict[str, dict[str, Any]] = {}
        self._keep = keep_events
        self._persistent = persistent
        self._lock = threading.Condition()
        self._subscribed = threading.Event()
        self._client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"central-sim-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if credentials is not None:
            self._client.username_pw_set(*credentials)
        self._client.reconnect_delay_set(1, 2)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        # NB: an edge replies only under its own ``{root}/{edge}/replies/`` (docs/sync.md)
        self._reply_session = uuid.uuid4().hex[:8]

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        props = new_properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600 if self._persistent else 0
        self._client.connect_async(
            self.host, self.port, 30, clean_start=not self._persistent, properties=props
        )
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            raise RuntimeError(f"central simulator could not subscribe on {self.host}:{self.port}")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._client.is_connected()

    def _on_connect(
        self,
        client: paho.Client,
        _userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        if reason.is_failure:
            return
        if flags.session_present:
            self._subscribed.set()
            return
        root = f"storeedge/v1/{self.store_id}"
        client.subscribe(
            [
                (f"{root}/+/events/#", 1),
                (f"{root}/+/status", 1),
                (f"{root}/+/replies/{self._reply_session}", 1),
            ]
        )

    def _on_subscribe(self, *_args: object) -> None:
        self._subscribed.set()

    # --- downstream ------------------------------------------------------------------------

    def _publish(self, topic: str, payload: bytes, retain: bool, props: Properties | None) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=retain, properties=props)
        info.wait_for_publish(10)

    def publish_profile(self, profile: dict[str, Any]) -> None:
        topic = f"storeedge/v1/{self.store_id}/customers/{profile['customer_id']}"
        self._publish(topic, encode_json(profile), True, None)

    def publish_raw(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """Anything at all, for hostile-input tests."""
        self._publish(topic, payload, retain, None)

    def erase_profile(self, customer_id: str) -> None:
        """An empty retained payload: the edge must forget the customer."""
        self._publish(f"storeedge/v1/{self.store_id}/customers/{customer_id}", b"", True, None)

    def publish_catalog(self, sku: str, product: dict[str, Any] | None) -> None:
        payload = b"" if product is None else encode_json(product)
        self._publish(f"storeedge/v1/{self.store_id}/catalog/{sku}", payload, True, None)

    def send_command(
        self,
        edge_id: str,
        name: str,
        data: dict[str, Any],
        *,
        command_id: str | None = None,
        expires_in: float | None = 300.0,
        reply: bool = True,
    ) -> str:
        """Sends a command CloudEvent; the reply (if any) lands in ``replies[command_id]``."""
        command_id = command_id or str(uuid.uuid4())
        now = time.time()
        event: dict[str, Any] = {
            "specversion": "1.0",
            "id": command_id,
            "source": "/central",
            "type": f"storeedge.command.{name}",
            "time": format_time(now),
            "datacontenttype": "application/json",
            "data": data,
        }
        if expires_in is not None:
            event["expirytime"] = format_time(now + expires_in)
        props = new_properties(PacketTypes.PUBLISH)
        if reply:
            props.ResponseTopic = (
                f"storeedge/v1/{self.store_id}/{edge_id}/replies/{self._reply_session}"
            )
            props.CorrelationData = command_id.encode()
        topic = f"storeedge/v1/{self.store_id}/{edge_id}/commands/{name}"
        self._publish(topic, encode_json(event), False, props)
        return command_id

    # --- upstream --------------------------------------------------------------------------

    def _on_message(self, _client: paho.Client, _userdata: object, msg: paho.MQTTMessage) -> None:
        topic = msg.topic
        payload = bytes(msg.payload)
        if topic.endswith(f"/replies/{self._reply_session}"):
            self._on_reply(payload)
        elif topic.endswith("/status"):
            edge = topic.split("/")[3]
            try:
                self.status[edge] = json.loads(payload) if payload else {}
            except ValueError:
                self.status[edge] = {"invalid": True}
        else:
            event = self.checker.add(topic, payload)
            if event is not None and self._keep:
                props = msg.properties
                user = tuple(getattr(props, "UserProperty", []) or []) if props else ()
                received = ReceivedEvent(topic, payload, event, user, time.monotonic())
                with self._lock:
                    self.events.append(received)
        with self._lock:
            self._lock.notify_all()

    def _on_reply(self, payload: bytes) -> None:
        try:
            body = json.loads(payload)
        except ValueError:
            return
        if isinstance(body, dict) and isinstance(body.get("command_id"), str):
            self.replies[body["command_id"]] = body  # CONTRACTS 7: the reply names its command

    def wait_for(self, predicate: Callable[[CentralSimulator], bool], timeout: float) -> bool:
        """Waits until ``predicate(self)`` holds (checked on every message and every 0.1 s)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.1))
        return True

    def events_of(self, event_type: str) -> list[ReceivedEvent]:
        with self._lock:
            return [e for e in self.events if e.event["type"] == event_type]

    def summary(self) -> dict[str, Any]:
        report = self.checker.report()
        report["status"] = dict(self.status)
        report["replies"] = len(self.replies)
        return report

    def live(
        self, interval: float, out: TextIO = sys.stdout, stop: threading.Event | None = None
    ) -> None:
        """Prints a one-line summary every ``interval`` seconds until ``stop`` is set."""
        stop = stop or threading.Event()
        while not stop.wait(interval):
            s = self.summary()
            online = ",".join(f"{e}={v.get('state')}" for e, v in s["status"].items()) or "-"
            print(  # the simulator's live summary is its output
                f"central: {s.get('unique', 0)} events, {s.get('duplicates', 0)} duplicates "
                f"({s.get('duplicates_different_bytes', 0)} differing), {s['lost']} lost, "
                f"{s.get('invalid', 0)} invalid, {s.get('out_of_order', 0)} out of order; "
                f"edges {online}",
                file=out,
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Simulated central platform: live event check")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--store", required=True)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args(argv)
    central = CentralSimulator(args.host, args.port, args.store, keep_events=False)
    central.start()
    try:
        central.live(args.interval)
    except KeyboardInterrupt:
        pass
    finally:
        central.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
