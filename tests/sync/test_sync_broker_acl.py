"""The edge against a mosquitto with the shipped ACL and a password file (issue 13, attack 10).

The edge works (events up, profiles and commands down, replies back), and a client
holding another store's credentials can neither read this store's topics nor
publish on them, nor take the edge's session over.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from polling import wait_until
from synckit import EdgeSync, alert, fast

from storeedge.adapters.broker import PrivateMosquitto, find_mosquitto, free_port, wait_for_port
from storeedge.adapters.mqtt_session import SESSION_TAKEN_OVER, Session
from storeedge.config import MqttSettings, Settings
from storeedge.core.events import encode_json
from storeedge.simulators.central import CentralSimulator

ACL = Path(__file__).resolve().parents[2] / "config" / "mosquitto-store.acl"
ROOT = "storeedge/v1/store-042"
PASSWORDS = {
    "central": "central-secret",
    "store-042-edge-1": "edge-042-secret",
    "store-043-edge-1": "edge-043-secret",
}


@pytest.fixture
def acl_broker(tmp_path: Path) -> Iterator[int]:
    binary = find_mosquitto()
    assert binary, "mosquitto is not installed"
    passwd = tmp_path / "storeedge.passwd"
    passwd.touch(mode=0o600)
    for user, password in PASSWORDS.items():
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"per_listener_settings false\nallow_anonymous false\n"
        f"password_file {passwd}\nacl_file {ACL}\npersistence false\n"
        # NB: a listener option: it must follow its listener line
        f"listener {port} 127.0.0.1\nuse_username_as_clientid true\n"
        "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n"
        + ("user root\n" if os.geteuid() == 0 else ""),
        encoding="utf-8",
    )
    log = (tmp_path / "mosquitto.log").open("ab")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
    log.close()
    try:
        assert wait_for_port("127.0.0.1", port, 10)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


class Probe:
    """A raw MQTT 5 client that records what it receives and what the broker answers."""

    def __init__(self, port: int, client_id: str, credentials: tuple[str, str] | None) -> None:
        self.client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if credentials is not None:
            self.client.username_pw_set(*credentials)
        self.lock = threading.Lock()
        self.received: list[str] = []
        self.suback: dict[int, list[ReasonCode]] = {}
        self.puback: dict[int, ReasonCode] = {}
        self.connected = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()
        assert self.connected.wait(10), "probe could not connect"

    def _on_connect(self, *args: Any) -> None:
        reason: ReasonCode = args[3]
        if not reason.is_failure:
            self.connected.set()

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        with self.lock:
            self.received.append(msg.topic)

    def _on_subscribe(
        self,
        _c: paho.Client,
        _u: object,
        mid: int,
        codes: list[ReasonCode],
        _p: Properties | None,
    ) -> None:
        with self.lock:
            self.suback[mid] = list(codes)

    def _on_publish(
        self, _c: paho.Client, _u: object, mid: int, reason: ReasonCode, _p: Properties | None
    ) -> None:
        with self.lock:
            self.puback[mid] = reason

    def subscribe(self, topic: str) -> list[ReasonCode]:
        _rc, mid = self.client.subscribe(topic, qos=1)
        assert wait_until(lambda: mid in self.suback, 10.0)
        return self.suback[mid]

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> ReasonCode:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        assert wait_until(lambda: info.mid in self.puback, 10.0)
        return self.puback[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _with_credentials(settings: Settings, user: str) -> Settings:
    mqtt = dataclasses.replace(settings.mqtt, username=user, password=PASSWORDS[user])
    return dataclasses.replace(settings, mqtt=mqtt)


def _command(command_id: str, name: str, data: dict[str, Any]) -> bytes:
    return encode_json(
        {
            "specversion": "1.0",
            "id": command_id,
            "source": "/rogue",
            "type": f"storeedge.command.{name}",
            "data": data,
        }
    )


def test_the_edge_works_under_the_acl_and_another_store_cannot_read_or_write_its_topics(
    acl_broker: int, make_settings: Callable[..., Settings], jean_profile: dict[str, Any]
) -> None:
    port = acl_broker
    central = CentralSimulator(
        "127.0.0.1", port, "store-042", credentials=("central", PASSWORDS["central"])
    )
    central.start()
    settings = _with_credentials(fast(make_settings(port=port)), "store-042-edge-1")
    edge = EdgeSync(settings).start()
    # the other store's edge, trying this edge's client id as well
    rogue = Probe(port, edge.link.client_id, ("store-043-edge-1", PASSWORDS["store-043-edge-1"]))
    try:
        assert wait_until(lambda: edge.link.connected, 10.0)
        assert rogue.subscribe("storeedge/v1/store-043/customers/+")[0].value == 1  # its own
        # NB: mosquitto 2.0 may grant a wildcard SUBACK and then withholds every message
        # the ACL does not let this user read: what counts is that nothing arrives (below)
        for topic in (f"{ROOT}/#", f"{ROOT}/customers/+", f"{ROOT}/edge-1/events/#"):
            rogue.subscribe(topic)

        # the edge works: profiles and commands down, events and replies up
        central.publish_profile(jean_profile)
        assert wait_until(lambda: "C-000123" in edge.handler.profiles, 10.0)
        command_id = central.send_command("edge-1", "pairing.claim", {"kiosk": "k-1"})
        assert central.wait_for(lambda c: command_id in c.replies, 10)
        for n in range(5):
            edge.outbox.emit(alert(n))
        assert central.wait_for(lambda c: c.checker.counts["unique"] == 5, 10)
        assert wait_until(lambda: edge.outbox.pending() == 0, 10.0)

        # the other store cannot write here: no profile, erasure, command or event gets in
        forged = {**jean_profile, "display_name": "Forged"}
        attempts = [
            (f"{ROOT}/customers/C-000123", encode_json(forged), True),
            (f"{ROOT}/customers/C-000123", b"", True),
            (
                f"{ROOT}/edge-1/commands/config.set",
                _command("forged-1", "config.set", {"version": 2**31 - 1, "settings": {}}),
                False,
            ),
            (f"{ROOT}/edge-1/events/alert.raised", alert(99).seal("/rogue", 1), False),
            (f"{ROOT}/edge-1/status", b'{"state": "offline"}', True),
        ]
        for topic, payload, retain in attempts:
            assert rogue.publish(topic, payload, retain).is_failure, topic
        time.sleep(1.0)
        assert edge.handler.profiles["C-000123"].display_name == "Jean"
        assert edge.handler.erased == []
        assert [name for name, _e in edge.handler.commands] == ["pairing.claim"]
        assert edge.cache.config() is None
        assert central.checker.counts["unique"] == 5
        assert central.status["edge-1"]["state"] == "online"
        with rogue.lock:
            assert not [t for t in rogue.received if t.startswith(ROOT + "/")]

        # and could not take the edge's session over: the broker named it by its user
        assert edge.link.connected
        assert edge.link.counters["connects"] == 1
        assert edge.link.counters["session_taken_over"] == 0
    finally:
        rogue.close()
        edge.stop()
        central.stop()


def test_without_the_broker_rule_anyone_with_the_client_id_kicks_the_edge_off(
    mosquitto: PrivateMosquitto, make_settings: Callable[..., Settings]
) -> None:
    """Why the ACL section needs use_username_as_clientid: the edge alone cannot stop this."""
    edge = EdgeSync(fast(make_settings(port=mosquitto.port))).start()
    try:
        assert wait_until(lambda: edge.link.connected, 10.0)
        thief = Probe(mosquitto.port, edge.link.client_id, None)
        assert wait_until(lambda: edge.link.counters["disconnects"] >= 1, 10.0)
        thief.close()
        assert wait_until(
            lambda: edge.link.connected, 10.0
        )  # and it comes back once the thief leaves
    finally:
        edge.stop()


def test_a_broker_that_says_session_taken_over_is_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """MQTT 5 brokers may say why (DISCONNECT 0x8E); mosquitto 2.0.11 just closes the socket."""
    counters: collections.Counter[str] = collections.Counter()
    session = Session(
        MqttSettings(),
        "storeedge-store-042-edge-1",
        window=8,
        session_expiry_s=60,
        backoff_min_s=0.1,
        backoff_max_s=1.0,
        counters=counters,
        wall=time.time,
    )
    session.disconnected(ReasonCode(PacketTypes.DISCONNECT, identifier=SESSION_TAKEN_OVER))
    assert counters["session_taken_over"] == 1
    assert "took its session over" in caplog.text
