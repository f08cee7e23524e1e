"""A real core loop, pipeline and web app for the web and browser tests.

Jean is fed in as the BLE advertisement his app would send, through the real
recognition path; nothing below the web layer is faked.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from storeedge.adapters.crypto import aes128_ecb
from storeedge.config import Settings
from storeedge.core.clock import ManualClock
from storeedge.core.eid import beacon_time, compute_eid
from storeedge.core.pipeline import Pipeline
from storeedge.core.ports import AdvertRecord, ListSink, UiSink
from storeedge.core.profiles import parse_profile
from storeedge.core.screens import AlertView, Greeting, ScreenMessage
from storeedge.gateway import CoreGateway
from storeedge.runtime import CoreLoop
from storeedge.web import TestConfig, WebApp, enrol

# CONTRACTS section 2: the Eddystone service UUID an app's EID frame travels under.
EDDYSTONE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"


class UiRelay:
    """The pipeline needs its UiSink before the web app that provides it exists."""

    def __init__(self) -> None:
        self.target: UiSink | None = None
        self.messages: list[ScreenMessage] = []

    def show(self, message: ScreenMessage) -> None:
        self.messages.append(message)
        if self.target is not None:
            self.target.show(message)


@dataclass
class Stack:
    settings: Settings
    clock: ManualClock
    core: CoreLoop
    pipeline: Pipeline
    relay: UiRelay
    gateway: CoreGateway
    web: WebApp
    events: ListSink = field(default_factory=ListSink)

    def advert(self, profile: Mapping[str, Any], scanner: str, rssi: int = -55) -> None:
        """The member's app advertising its current EID, heard by ``scanner``."""
        now = self.clock.now()
        ble = profile["ble"]
        eid = compute_eid(
            aes128_ecb,
            bytes.fromhex(ble["identity_key"]),
            ble["rotation_exponent"],
            beacon_time(now, ble["clock_offset"]),
        )
        frame = bytes([0x30, 0xEE]) + eid
        record = AdvertRecord(
            t=now,
            scanner=scanner,
            address="6E:21:9A:0C:44:F1",
            rssi=rssi,
            service_data={EDDYSTONE_UUID: frame},
            service_uuids=(EDDYSTONE_UUID,),
        )
        self.core.call(lambda: self.pipeline.on_advert(record))

    def walk(
        self, profile: Mapping[str, Any], scanner: str, seconds: float = 5.0, rssi: int = -50
    ) -> None:
        """The member lingers near ``scanner``: an advertisement every 0.25 s of clock time."""
        steps = int(seconds / 0.25)
        for _ in range(steps):
            self.advert(profile, scanner, rssi)
            self.clock.advance(0.25)

    def walk_to_kiosk(self, profile: Mapping[str, Any]) -> None:
        """In through the door, then to the kiosk, until the pipeline greets them there."""
        self.walk(profile, "entrance", 1.0)
        for _ in range(20):
            if any(isinstance(m, Greeting) for m in self.relay.messages):
                return
            self.walk(profile, "kiosk", 0.5, rssi=-45)
        raise AssertionError(f"never greeted at the kiosk: {self.relay.messages}")

    def leave(self, customer_id: str) -> None:
        self.core.call(lambda: self.pipeline.depart(customer_id, "test"))

    def show(self, message: ScreenMessage) -> None:
        """Push a screen message the way the pipeline does: from the core thread."""
        self.core.call(lambda: self.web.ui.show(message))

    def open_alerts(self) -> list[AlertView]:
        return self.core.call(lambda: [a.view() for a in self.pipeline.alerts.open_alerts()])

    def enrolled_client(self, kiosk_id: str = "kiosk-1") -> Any:
        """A Flask test client holding ``kiosk_id``'s screen credential (enrolled once)."""
        client = self.web.app.test_client()
        enrol_kiosk(client, self.web, kiosk_id)
        return client

    def kiosk_socket(self, kiosk_id: str = "kiosk-1") -> Any:
        """A Socket.IO test client of the /kiosk namespace, from an enrolled browser."""
        return self.web.socketio.test_client(
            self.web.app,
            namespace="/kiosk",
            auth={"kiosk_id": kiosk_id},
            flask_test_client=self.enrolled_client(kiosk_id),
        )

    def close(self) -> None:
        self.web.stop()
        self.core.stop()


def enrol_kiosk(flask_client: Any, web: WebApp, kiosk_id: str) -> None:
    """What a technician does with `storeedge kiosk-enrol`: open the one-time URL."""
    token = web.kiosks.enrolments.issue(kiosk_id)
    response = flask_client.get(f"/enrol/{token}")
    assert response.status_code == 303, response.status_code
    assert response.headers["Location"] == f"/kiosk/{kiosk_id}"


def enrolled_cookie(web: WebApp, kiosk_id: str = "kiosk-1") -> str:
    """A ``Cookie`` header value for clients over the network (Socket.IO, websocket)."""
    token = web.kiosks.enrolments.issue(kiosk_id)
    spent = web.kiosks.enrolments.redeem(token)
    assert spent is not None
    return f"{enrol.COOKIE}={spent[0]}.{spent[1]}"


def build_stack(settings: Settings, profiles: list[dict[str, Any]]) -> Stack:
    clock = ManualClock(time.time())
    core = CoreLoop()
    core.start()
    relay = UiRelay()
    events = ListSink()
    pipeline = Pipeline(settings, clock, events, relay, aes128_ecb)
    parsed = [parse_profile(p) for p in profiles]
    core.call(lambda: pipeline.load_profiles(parsed))
    gateway = CoreGateway(core, pipeline)
    web = WebApp(settings, gateway, TestConfig)
    relay.target = web.ui
    return Stack(settings, clock, core, pipeline, relay, gateway, web, events)


# --- fixtures (imported by tests/web and tests/browser conftest files) --------------------

SECOND_KIOSK = """
[[kiosks]]
id = "kiosk-2"
zone = "floor"
language = "en"

[web]
port = 0

[[pickup_points]]
id = "counter-A"
name = "Comptoir retraits"
"""

STAFF_PIN = "2468"


@pytest.fixture
def web_settings(make_settings: Callable[..., Settings]) -> Settings:
    """Two kiosks (kiosk-1 at the kiosk zone, kiosk-2 on the floor), no staff PIN."""
    settings = make_settings(extra=SECOND_KIOSK)
    return dataclasses.replace(
        settings, store=dataclasses.replace(settings.store, name="Maison Lumière")
    )


@pytest.fixture
def make_stack(
    jean_profile: dict[str, Any],
) -> Iterator[Callable[..., Stack]]:
    stacks: list[Stack] = []

    def make(settings: Settings, profiles: list[dict[str, Any]] | None = None) -> Stack:
        stack = build_stack(settings, [jean_profile] if profiles is None else profiles)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.close()


@pytest.fixture
def stack(web_settings: Settings, make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(web_settings)


@pytest.fixture
def pin_settings(web_settings: Settings) -> Settings:
    # NB: a cheap hash method keeps the tests fast; production hashes come from the CLI.
    pin_hash = generate_password_hash(STAFF_PIN, method="pbkdf2:sha256:1000")
    return dataclasses.replace(
        web_settings, web=dataclasses.replace(web_settings.web, staff_pin_hash=pin_hash)
    )
