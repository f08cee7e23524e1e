"""The pipeline: recognition -> visits -> rules, the same code live, in replay and in tests.

Everything here runs on one thread (the core loop's, live; the caller's in replay):
no locks, and time only from the injected clock.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping

from storeedge.config import ScannerSettings, Settings
from storeedge.core.adverts import (
    APPLE_COMPANY_ID,
    EDDYSTONE_UUID,
    FRAME_EID,
    FRAME_TLM,
    FRAME_UID,
    EddystoneTlm,
    EddystoneUid,
    parse_eddystone,
    parse_ibeacon,
)
from storeedge.core.alerts import Alert, AlertBook
from storeedge.core.beacons import BeaconProblem, BeaconWatch
from storeedge.core.clock import Clock
from storeedge.core.events import JSON, Event, EventFactory
from storeedge.core.footfall import Footfall
from storeedge.core.ports import AdvertRecord, Aes128, EventSink, UiSink
from storeedge.core.presence import Presence, Tuning
from storeedge.core.profiles import CustomerProfile
from storeedge.core.recognition import Recognizer
from storeedge.core.timefmt import format_time
from storeedge.core.visits import Visit, VisitBook

_LOGGER = logging.getLogger(__name__)

TICK_EVERY_S = 0.2  # timers run at most this often (the live ticker calls every 0.25 s)
BEACON_CHECK_S = 10.0
NON_BLE_IDLE_S = 1800.0  # a QR/app/staff visit that BLE never confirmed closes after this


def _int8(value: int) -> int:
    return value - 256 if value > 127 else value


def _tx_at_0m(record: AdvertRecord) -> float | None:
    """The calibrated Tx power the frame advertises, as dBm at 0 m (None if unknown)."""
    eddystone = record.service_data.get(EDDYSTONE_UUID)
    if isinstance(eddystone, bytes) and len(eddystone) >= 2 and eddystone[0] == FRAME_EID:
        return float(_int8(eddystone[1]))
    apple = record.manufacturer_data.get(APPLE_COMPANY_ID)
    if isinstance(apple, bytes) and len(apple) == 23 and apple[:2] == b"\x02\x15":
        return float(_int8(apple[22]) + 41)  # NB: iBeacon power is at 1 m; 0 m is ~41 dB more
    return None


class Pipeline:
    """The edge's brain. Inputs: adverts, profile changes, staff actions, ticks."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        sink: EventSink,
        ui: UiSink,
        aes: Aes128,
        events: EventFactory | None = None,
        tuning: Tuning | None = None,
        beacon_catalog: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._sink = sink
        self._ui = ui
        self.events = events or EventFactory()
        self.visits = VisitBook(self.events)
        self.alerts = AlertBook(self.events)
        self.recognizer = Recognizer(aes)
        self.presence = Presence(settings.scanners, tuning, settings.store.door)
        self.footfall = Footfall()
        self.beacons = BeaconWatch(beacon_catalog)
        self.profiles: dict[str, CustomerProfile] = {}
        self.counters: Counter[str] = Counter()
        self._scanners: dict[str, ScannerSettings] = {s.id: s for s in settings.scanners}
        self._kiosk_by_zone = {k.zone: k for k in settings.kiosks}
        self._last_tick = float("-inf")
        self._last_beacon_check = float("-inf")

    # --- profiles -------------------------------------------------------------------------

    def load_profiles(self, profiles: Iterable[CustomerProfile]) -> None:
        self.profiles = {p.customer_id: p for p in profiles}
        self.recognizer.load(self.profiles.values(), self.clock.now())

    def upsert_profile(self, profile: CustomerProfile) -> None:
        now = self.clock.now()
        self.profiles[profile.customer_id] = profile
        self.recognizer.upsert(profile, now)
        if not profile.consent.current(now):
            # NB: consent withdrawn: stop tracking now; the open BLE visit closes cleanly.
            self.presence.forget(profile.customer_id)
            visit = self.visits.get(profile.customer_id)
            if visit is not None and visit.via == "ble":
                self.depart(profile.customer_id, "consent_withdrawn")

    def erase_customer(self, customer_id: str) -> None:
        """Forget everything held in memory on this customer, at once and without events."""
        self.profiles.pop(customer_id, None)
        self.recognizer.erase(customer_id)
        self.presence.forget(customer_id)
        visit = self.visits.get(customer_id)
        self.visits.forget(customer_id)
        self.alerts.forget_customer(customer_id)
        if visit is not None:
            self._kiosk_leave(visit.zone)
            self._ui.signal("staff.forget", {"customer_id": customer_id})

    # --- inputs ----------------------------------------------------------------------------

    def on_advert(self, record: AdvertRecord) -> None:
        scanner = self._scanners.get(record.scanner)
        if scanner is None:
            self.counters["advert.unknown_scanner"] += 1
            return
        now = self.clock.now()
        customer_id = self.recognizer.resolve(record, now)
        if customer_id is None:
            self._anonymous(record, scanner, now)
            return  # NB: nothing about an unresolved device outlives the footfall window
        profile = self.profiles.get(customer_id)
        if profile is None:
            return
        self.footfall.observe(customer_id, record.rssi + scanner.rssi_offset_db, False, now)
        change = self.presence.observe(customer_id, scanner.id, record.rssi, _tx_at_0m(record), now)
        visit = self.visits.get(customer_id)
        if visit is not None:
            visit.last_seen = now
        if change is None:
            return
        if visit is None:
            self._arrive(profile, change.zone, "ble", now)
        else:
            self._move(visit, change.zone, now)

    def _anonymous(self, record: AdvertRecord, scanner: ScannerSettings, now: float) -> None:
        level = record.rssi + scanner.rssi_offset_db
        self.footfall.observe(record.address, level, scanner.role == "entrance", now)
        service = record.service_data
        if service:
            payload = service.get(EDDYSTONE_UUID)
            if payload is not None and not (
                isinstance(payload, bytes) and len(payload) == 10 and payload[0] == FRAME_EID
            ):
                self._store_beacon(record, payload, scanner, now)
        manufacturer = record.manufacturer_data
        if manufacturer:
            apple = manufacturer.get(APPLE_COMPANY_ID)
            if isinstance(apple, bytes) and apple[:1] == b"\x02":  # NB: other types: not ours
                parse_ibeacon(apple, self.counters)  # for the malformed-frame counts

    def _store_beacon(
        self, record: AdvertRecord, payload: object, scanner: ScannerSettings, now: float
    ) -> None:
        if isinstance(payload, bytes) and payload[:1] not in (
            bytes([FRAME_UID]),
            bytes([FRAME_TLM]),
        ):
            parse_eddystone(payload, self.counters)
            return
        frame = parse_eddystone(payload, self.counters)
        if isinstance(frame, EddystoneUid):
            self.beacons.on_uid(record.address, frame.beacon_id, scanner.zone, now)
        elif isinstance(frame, EddystoneTlm):
            telemetry, problem = self.beacons.on_tlm(record.address, frame, scanner.zone, now)
            if telemetry is not None:
                data: dict[str, JSON] = {
                    "beacon_id": telemetry.beacon_id,
                    "battery_mv": telemetry.battery_mv,
                    "temperature_c": telemetry.temperature_c,
                    "zone": telemetry.zone,
                }
                self._emit(self.events.make("storeedge.beacon.telemetry", data, now))
            if problem is not None:
                self._beacon_alert(problem, now)

    def _beacon_alert(self, problem: BeaconProblem, now: float) -> None:
        details: dict[str, JSON] = {"beacon_id": problem.beacon_id, "problem": problem.problem}
        if problem.battery_mv is not None:
            details["battery_mv"] = problem.battery_mv
        _LOGGER.warning("store beacon %s: %s", problem.beacon_id, problem.problem)
        self._publish_alert(*self.alerts.raise_alert("beacon", None, problem.zone, now, details))

    def tick(self) -> None:
        """Timers. Called a few times a second live, per record in replay (cheap when early)."""
        now = self.clock.now()
        if now - self._last_tick < TICK_EVERY_S:
            return
        self._last_tick = now
        self.recognizer.maintain(now)
        for customer_id in self.presence.expire(now):
            self.depart(customer_id, "timeout")
        for visit in self.visits.open_visits():
            unconfirmed = visit.via != "ble" and self.presence.get(visit.customer_id) is None
            if unconfirmed and now - visit.last_seen > NON_BLE_IDLE_S:
                self.depart(visit.customer_id, "timeout")
        count = self.footfall.roll(now)
        if count is not None:
            data: dict[str, JSON] = {
                "window_start": format_time(count.window_start),
                "window_s": count.window_s,
                "visitors": count.visitors,
            }
            self._emit(self.events.make("storeedge.footfall.counted", data, now))
        if now - self._last_beacon_check >= BEACON_CHECK_S:
            self._last_beacon_check = now
            for problem in self.beacons.check(now):
                self._beacon_alert(problem, now)

    # --- staff actions --------------------------------------------------------------------

    def claim_alert(self, alert_id: str, staff_id: str) -> bool:
        result = self.alerts.claim(alert_id, staff_id, self.clock.now())
        if result is None:
            return False
        self._publish_alert(*result)
        return True

    def resolve_alert(self, alert_id: str, staff_id: str) -> bool:
        result = self.alerts.resolve(alert_id, staff_id, self.clock.now())
        if result is None:
            return False
        self._publish_alert(*result)
        return True

    def staff_snapshot(self) -> dict[str, JSON]:
        """What a staff console shows when it connects."""
        return {
            "present": [self._arrival_view(v) for v in self.visits.open_visits()],
            "alerts": [a.view() for a in self.alerts.open_alerts()],
        }

    # --- visits ---------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self._sink.emit(event)

    def _arrive(self, profile: CustomerProfile, zone: str, via: str, now: float) -> None:
        visit, event = self.visits.arrive(profile.customer_id, zone, via, now)
        self._emit(event)
        _LOGGER.info("arrival visit=%s zone=%s via=%s", visit.visit_id, zone, via)
        if profile.consent.staff_alerts:
            self._ui.signal("staff.arrival", self._arrival_view(visit))
            for order in profile.ready_pickups():
                details: dict[str, JSON] = {
                    "order_id": order.order_id,
                    "display_name": profile.display_name,
                    "pickup_point": order.pickup_point,
                }
                self._publish_alert(
                    *self.alerts.raise_alert("pickup", visit.customer_id, zone, now, details)
                )
            if profile.vip:
                vip: dict[str, JSON] = {"display_name": profile.display_name}
                self._publish_alert(
                    *self.alerts.raise_alert("vip", visit.customer_id, zone, now, vip)
                )
        self._kiosk_enter(profile, zone)

    def _move(self, visit: Visit, zone: str, now: float) -> None:
        previous = visit.zone
        event = self.visits.move(visit.customer_id, zone, now)
        if event is None:
            return
        self._emit(event)
        self._kiosk_leave(previous)
        profile = self.profiles.get(visit.customer_id)
        if profile is not None:
            self._kiosk_enter(profile, zone)
            if profile.consent.staff_alerts:
                self._ui.signal("staff.arrival", self._arrival_view(visit))

    def depart(self, customer_id: str, reason: str) -> None:
        visit = self.visits.get(customer_id)
        event = self.visits.depart(customer_id, self.clock.now(), reason)
        if visit is None or event is None:
            return
        self._emit(event)
        self.presence.forget(customer_id)
        self._kiosk_leave(visit.zone)
        self._ui.signal("staff.departure", {"customer_id": customer_id})

    def _arrival_view(self, visit: Visit) -> dict[str, JSON]:
        profile = self.profiles.get(visit.customer_id)
        name = profile.display_name if profile else ""
        return {
            "customer_id": visit.customer_id,
            "visit_id": visit.visit_id,
            "display_name": name,
            "zone": visit.zone,
            "via": visit.via,
            "since": visit.started_at,
            "tier": profile.tier if profile else "",
            "vip": profile.vip if profile else False,
            "pickups": [o.order_id for o in profile.ready_pickups()] if profile else [],
        }

    def _publish_alert(self, alert: Alert, event: Event) -> None:
        self._emit(event)
        self._ui.signal("staff.alert", alert.view())

    # --- kiosk greeting -------------------------------------------------------------------

    def _kiosk_enter(self, profile: CustomerProfile, zone: str) -> None:
        kiosk = self._kiosk_by_zone.get(zone)
        if kiosk is None or not profile.consent.personalization:
            return
        # NB: a discreet greeting only; the personal space opens on an explicit act.
        greeting: Mapping[str, JSON] = {
            "kiosk_id": kiosk.id,
            "display_name": profile.display_name,
            "language": profile.language,
        }
        self._ui.signal("kiosk.greet", greeting)

    def _kiosk_leave(self, zone: str) -> None:
        kiosk = self._kiosk_by_zone.get(zone)
        if kiosk is not None:
            self._ui.signal("kiosk.clear", {"kiosk_id": kiosk.id})
