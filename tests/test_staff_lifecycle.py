"""The alert lifecycle and handovers on a manual clock: the pipeline as the core runs it.

Jean comes in through the app's check-in (CONTRACTS 7) or a BLE arrival; pickup
codes come through the QR door as a counter scanner would type them.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from storeedge.adapters.crypto import aes128_ecb
from storeedge.config import Settings
from storeedge.core.clock import ManualClock
from storeedge.core.events import Event
from storeedge.core.pipeline import Pipeline
from storeedge.core.ports import ListSink
from storeedge.core.profiles import parse_profile
from storeedge.core.qr import totp
from storeedge.core.screens import AlertChanged, ScreenMessage
from storeedge.core.staff_kpi import percentile
from storeedge.core.staff_messages import HandedOver, HandoverRefused, KpiFigures

T0 = 1_800_000_000.0
COUNTER = """
[[qr_scanners]]
id = "counter-qr"
kind = "simulated"
zone = "counter"

[[qr_scanners]]
id = "kiosk-qr"
kind = "simulated"
zone = "kiosk"
kiosk = "kiosk-1"

[[pickup_points]]
id = "counter-A"
name = "Comptoir retraits"

[alerts]
escalate_after_s = 30
"""


class Screens:
    def __init__(self) -> None:
        self.seen: list[ScreenMessage] = []

    def show(self, message: ScreenMessage) -> None:
        self.seen.append(message)

    def of(self, kind: type[Any]) -> list[Any]:
        return [m for m in self.seen if isinstance(m, kind)]


@dataclasses.dataclass
class Core:
    pipeline: Pipeline
    clock: ManualClock
    sink: ListSink
    screens: Screens

    def types(self) -> list[str]:
        return [e.type.removeprefix("storeedge.") for e in self.sink.events]

    def of(self, short_type: str) -> list[Event]:
        return [e for e in self.sink.events if e.type == f"storeedge.{short_type}"]

    def checkin(self, data: dict[str, Any]) -> tuple[str, str]:
        reply = self.pipeline.on_command("customer.checkin", data)
        return reply.status, reply.reason

    def tick(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.pipeline.tick()

    def pickup_code(self, profile: dict[str, Any], order_id: str = "O-98121") -> str:
        qr = profile["qr"]
        code = totp(
            base64.b32decode(qr["totp_secret"]), self.clock.now(), qr["period"], qr["digits"]
        )
        return f"SE1:P:{order_id}:{code}"


@pytest.fixture
def make_core(
    make_settings: Callable[..., Settings], jean_profile: dict[str, Any]
) -> Callable[..., Core]:
    def make(profiles: list[dict[str, Any]] | None = None) -> Core:
        settings = make_settings(extra=COUNTER)
        clock, sink, screens = ManualClock(T0), ListSink(), Screens()
        pipeline = Pipeline(settings, clock, sink, screens, aes128_ecb)
        pipeline.load_profiles(parse_profile(p) for p in (profiles or [jean_profile]))
        return Core(pipeline, clock, sink, screens)

    return make


@pytest.fixture
def core(make_core: Callable[..., Core]) -> Core:
    return make_core()


def test_checkin_with_an_order_opens_an_app_visit_and_one_pickup_alert(core: Core) -> None:
    assert core.checkin({"customer_id": "C-000123", "order_id": "O-98121"}) == ("ok", "")
    assert core.types() == ["customer.arrived", "alert.raised"]
    assert core.of("customer.arrived")[0].data["via"] == "app"
    raised = core.of("alert.raised")[0].data
    assert raised["kind"] == "pickup"
    assert raised["order_id"] == "O-98121"
    (alert,) = core.pipeline.alerts.open_alerts()
    assert alert.details["pickup_point_name"] == "Comptoir retraits"  # a name, not "counter-A"
    assert alert.details["lines"] == [{"sku": "JEAN-SLIM-32", "qty": 1}]

    # The same check-in again (a new command id), and the member's own kiosk ask: one alert.
    assert core.checkin({"customer_id": "C-000123", "order_id": "O-98121"}) == ("ok", "")
    view = core.pipeline.raise_customer_alert(
        "pickup", "C-000123", "kiosk", {"order_id": "O-98121"}
    )
    assert view is not None
    assert view.alert_id == alert.alert_id
    assert core.types() == ["customer.arrived", "alert.raised"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"customer_id": "C-404"}, "unknown customer"),
        ({"customer_id": "C-000123", "order_id": "O-1"}, "unknown order"),
        (
            {"customer_id": "C-000123", "order_id": "O-97002"},
            "order cannot be picked up: not_ready",
        ),
        ({"customer_id": 12}, "customer_id: expected an id"),
        ({"customer_id": "C-000123", "order_id": ["O-98121"]}, "order_id: expected an id"),
    ],
)
def test_bad_checkins_are_rejected_and_change_nothing(
    core: Core, data: dict[str, Any], reason: str
) -> None:
    assert core.checkin(data) == ("rejected", reason)
    assert core.sink.events == []
    assert core.pipeline.visits.open_visits() == []


def test_checkins_for_non_consenting_or_erased_customers_are_rejected(
    make_core: Callable[..., Core], jean_profile: dict[str, Any]
) -> None:
    withdrawn = copy.deepcopy(jean_profile)
    withdrawn["consent"]["recognition"] = False
    core = make_core([withdrawn])
    assert core.checkin({"customer_id": "C-000123"}) == ("rejected", "customer has not consented")
    core = make_core()
    core.pipeline.erase_customer("C-000123")
    assert core.checkin({"customer_id": "C-000123"}) == ("rejected", "unknown customer")
    assert core.sink.events == []


def test_unclaimed_alert_escalates_once_after_escalate_after_s(core: Core) -> None:
    core.checkin({"customer_id": "C-000123", "order_id": "O-98121"})
    core.tick(29.0)
    assert core.of("alert.escalated") == []
    core.tick(1.5)
    (escalated,) = core.of("alert.escalated")
    assert escalated.data["waited_s"] == pytest.approx(30.5)
    (alert,) = core.pipeline.alerts.open_alerts()
    assert alert.view().state == "escalated"
    assert core.screens.of(AlertChanged)[-1].alert.state == "escalated"
    core.tick(60.0)
    assert len(core.of("alert.escalated")) == 1  # once
    assert core.pipeline.claim_alert(alert.alert_id, "Marie")  # an escalated alert is claimable
    assert alert.view().state == "claimed"


def test_a_claimed_alert_never_escalates_and_exactly_one_claim_wins(core: Core) -> None:
    core.checkin({"customer_id": "C-000123", "order_id": "O-98121"})
    (alert,) = core.pipeline.alerts.open_alerts()
    core.clock.advance(12.0)
    assert core.pipeline.claim_alert(alert.alert_id, "Marie") is True
    assert core.pipeline.claim_alert(alert.alert_id, "Paul") is False
    (claimed,) = core.of("alert.claimed")
    assert claimed.data["staff_id"] == "Marie"
    assert claimed.data["waited_s"] == pytest.approx(12.0)
    assert alert.claimed_by == "Marie"
    core.tick(300.0)
    assert core.of("alert.escalated") == []
    (kpi,) = [k for k in core.screens.of(KpiFigures) if k.claim_count]
    assert kpi.claim_median_s == pytest.approx(12.0)


def test_departure_closes_the_members_alerts_with_a_reason(core: Core) -> None:
    core.checkin({"customer_id": "C-000123", "order_id": "O-98121"})
    core.pipeline.raise_customer_alert("advisor", "C-000123", "kiosk")
    assert len(core.pipeline.alerts.open_alerts()) == 2
    core.pipeline.depart("C-000123", "timeout")
    resolved = core.of("alert.resolved")
    assert sorted(e.data["kind"] for e in resolved) == ["advisor", "pickup"]
    assert {e.data["reason"] for e in resolved} == {"departed"}
    assert core.pipeline.alerts.open_alerts() == []
    # Back later: a new visit, the order is still ready, so a new (single) alert.
    core.clock.advance(600)
    core.checkin({"customer_id": "C-000123"})
    assert len(core.pipeline.alerts.open_alerts()) == 1


def test_pickup_code_at_the_counter_hands_over_once(
    core: Core, jean_profile: dict[str, Any]
) -> None:
    core.checkin({"customer_id": "C-000123", "order_id": "O-98121"})
    (alert,) = core.pipeline.alerts.open_alerts()
    core.clock.advance(95.0)
    code = core.pickup_code(jean_profile)
    assert core.pipeline.on_qr("counter-qr", code).ok
    (handed,) = core.of("pickup.handed_over")
    assert handed.data["order_id"] == "O-98121"
    assert handed.data["customer_id"] == "C-000123"
    assert handed.data["proof"] == "qr"
    assert handed.data["alert_id"] == alert.alert_id
    assert handed.data["waited_s"] == pytest.approx(95.0)
    (resolved,) = core.of("alert.resolved")
    assert resolved.data["reason"] == "handed_over"
    assert core.pipeline.alerts.open_alerts() == []
    assert core.screens.of(HandedOver)[0].proof == "qr"
    kpi = core.screens.of(KpiFigures)[-1]
    assert (kpi.handover_count, kpi.handover_median_s, kpi.handover_within_target) == (1, 95.0, 1)

    before = list(core.sink.events)
    core.pipeline.on_qr("counter-qr", code)  # the same code again
    core.clock.advance(30.0)
    core.pipeline.on_qr("counter-qr", core.pickup_code(jean_profile))  # a fresh code, same order
    assert core.sink.events == before  # nothing happens
    reasons = [r.reason for r in core.screens.of(HandoverRefused)]
    assert reasons == ["already_used", "already_handed_over"]
    # A later visit raises no alert for the order that was handed over.
    core.pipeline.depart("C-000123", "timeout")
    core.checkin({"customer_id": "C-000123"})
    assert core.pipeline.alerts.open_alerts() == []


def test_forged_code_is_refused_with_a_reason_and_a_kiosk_scanner_hands_nothing_over(
    core: Core, jean_profile: dict[str, Any]
) -> None:
    core.checkin({"customer_id": "C-000123", "order_id": "O-98121"})
    core.pipeline.on_qr("counter-qr", "SE1:P:O-98121:00000000")
    core.pipeline.on_qr("kiosk-qr", core.pickup_code(jean_profile))
    assert core.of("pickup.handed_over") == []
    refused = [(r.reason, r.where) for r in core.screens.of(HandoverRefused)]
    assert refused == [("bad_code", "counter"), ("not_at_counter", "kiosk")]


def test_console_handover_by_typed_code_and_by_recorded_override(
    make_core: Callable[..., Core], jean_profile: dict[str, Any]
) -> None:
    core = make_core()
    core.checkin({"customer_id": "C-000123", "order_id": "O-98121"})
    digits = core.pickup_code(jean_profile).rsplit(":", 1)[1]
    assert core.pipeline.hand_over("O-98121", "12345678", "code", "Marie", "sid-1") == "bad_code"
    refusal = core.screens.of(HandoverRefused)[-1]
    assert (refusal.reason, refusal.connection) == ("bad_code", "sid-1")
    assert core.pipeline.hand_over("O-98121", digits, "code", "Marie", "sid-1") is None
    (handed,) = core.of("pickup.handed_over")
    assert (handed.data["proof"], handed.data["staff_id"]) == ("code", "Marie")
    assert core.pipeline.hand_over("O-98121", None, "staff", "Marie", "sid-1") == (
        "already_handed_over"
    )

    core = make_core()  # no visit open: the override notes one (via staff)
    assert core.pipeline.hand_over("O-98121", None, "staff", "Paul", "sid-2") is None
    assert core.types() == ["customer.arrived", "pickup.handed_over"]
    assert core.of("customer.arrived")[0].data["via"] == "staff"
    assert core.of("pickup.handed_over")[0].data["staff_id"] == "Paul"
    assert core.pipeline.alerts.open_alerts() == []


def test_vip_with_staff_alerts_consent_raises_a_vip_alert(
    make_core: Callable[..., Core], jean_profile: dict[str, Any]
) -> None:
    vip = copy.deepcopy(jean_profile)
    vip["vip"] = True
    core = make_core([vip])
    core.checkin({"customer_id": "C-000123"})
    assert sorted(e.data["kind"] for e in core.of("alert.raised")) == ["pickup", "vip"]

    quiet = copy.deepcopy(vip)
    quiet["consent"]["staff_alerts"] = False
    core = make_core([quiet])
    core.checkin({"customer_id": "C-000123"})
    assert core.of("alert.raised") == []  # recognised, but staff are not told


def test_alert_raise_from_central(core: Core) -> None:
    reply = core.pipeline.on_command("alert.raise", {"kind": "vip", "customer_id": "C-000123"})
    assert reply.status == "ok"
    reply = core.pipeline.on_command(
        "alert.raise", {"kind": "advisor", "zone": "floor", "note": "x"}
    )
    assert reply.status == "ok"
    assert [(e.data["kind"], e.data["zone"]) for e in core.of("alert.raised")] == [
        ("vip", "entrance"),
        ("advisor", "floor"),
    ]
    for bad in (
        {"kind": "VIP!"},
        {"kind": "vip", "customer_id": "C-404"},
        {"kind": "x", "note": 3},
    ):
        assert core.pipeline.on_command("alert.raise", bad).status == "rejected"
    assert len(core.of("alert.raised")) == 2


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([30.0], 0.9) == 30.0
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 0.5) == 5.0
    assert percentile(values, 0.9) == 9.0


def test_erasure_forgets_only_that_members_handovers(
    make_core: Callable[..., Core], jean_profile: dict[str, Any]
) -> None:
    other = copy.deepcopy(jean_profile)
    other["customer_id"] = "C-000456"
    other["ble"]["identity_key"] = "ff" * 16
    other["orders"][0]["order_id"] = "O-11111"
    core = make_core([jean_profile, other])
    assert core.pipeline.hand_over("O-98121", None, "staff", "Marie", "sid") is None
    assert core.pipeline.hand_over("O-11111", None, "staff", "Marie", "sid") is None
    core.pipeline.erase_customer("C-000456")
    assert core.pipeline.staff.handed == {"O-98121": "C-000123"}
    assert core.pipeline.hand_over("O-98121", None, "staff", "Paul", "sid") == (
        "already_handed_over"
    )


def test_no_handover_for_a_customer_whose_consent_is_off(
    make_core: Callable[..., Core], jean_profile: dict[str, Any]
) -> None:
    withdrawn = copy.deepcopy(jean_profile)
    withdrawn["consent"]["recognition"] = False
    core = make_core([withdrawn])
    assert core.pipeline.hand_over("O-98121", None, "staff", "Marie", "sid") == "no_consent"
    core.pipeline.on_qr("counter-qr", core.pickup_code(withdrawn))
    assert core.sink.events == []
    assert [r.reason for r in core.screens.of(HandoverRefused)] == ["no_consent", "no_consent"]
