"""The pipeline: recognition -> visits -> rules, the same code live, in replay and in tests.

Everything here runs on one thread (the core loop's, live; the caller's in replay):
no locks, and time only from the injected clock.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from storeedge.config import Settings
from storeedge.core.alerts import Alert, AlertBook
from storeedge.core.clock import Clock
from storeedge.core.events import JSON, Event, EventFactory
from storeedge.core.ports import AdvertRecord, Aes128, EventSink, UiSink
from storeedge.core.profiles import CustomerProfile
from storeedge.core.recognition import Recognizer
from storeedge.core.visits import Visit, VisitBook

_LOGGER = logging.getLogger(__name__)

# Interim presence thresholds for the walking skeleton (the recognition issue replaces them).
ENTER_DBM = -80.0
DEPART_AFTER_S = 30.0
ZONE_WINDOW_S = 3.0


@dataclass(slots=True)
class _Sighting:
    at: float
    rssi: float


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
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._sink = sink
        self._ui = ui
        self.events = events or EventFactory()
        self.visits = VisitBook(self.events)
        self.alerts = AlertBook(self.events)
        self.recognizer = Recognizer(aes)
        self.profiles: dict[str, CustomerProfile] = {}
        self.counters: Counter[str] = Counter()
        self._scanners = {s.id: s for s in settings.scanners}
        self._kiosk_by_zone = {k.zone: k for k in settings.kiosks}
        self._sightings: dict[str, dict[str, _Sighting]] = {}

    # --- profiles -------------------------------------------------------------------------

    def load_profiles(self, profiles: Iterable[CustomerProfile]) -> None:
        self.profiles = {p.customer_id: p for p in profiles}
        self.recognizer.load(self.profiles.values(), self.clock.now())

    def upsert_profile(self, profile: CustomerProfile) -> None:
        self.profiles[profile.customer_id] = profile
        self.recognizer.upsert(profile, self.clock.now())

    def erase_customer(self, customer_id: str) -> None:
        """Forget everything held in memory on this customer, at once and without events."""
        self.profiles.pop(customer_id, None)
        self.recognizer.erase(customer_id, self.clock.now())
        visit = self.visits.get(customer_id)
        self.visits.forget(customer_id)
        self.alerts.forget_customer(customer_id)
        self._sightings.pop(customer_id, None)
        if visit is not None:
            self._kiosk_leave(visit.zone)
            self._ui.signal("staff.forget", {"customer_id": customer_id})

    # --- inputs ----------------------------------------------------------------------------

    def on_advert(self, record: AdvertRecord) -> None:
        scanner = self._scanners.get(record.scanner)
        if scanner is None:
            self.counters["advert.unknown_scanner"] += 1
            return
        customer_id = self.recognizer.resolve(record)
        if customer_id is None:
            self.counters["advert.anonymous"] += 1
            return  # NB: nothing about an unresolved device is kept
        profile = self.profiles.get(customer_id)
        now = self.clock.now()
        if profile is None or not profile.consent.current(now):
            return
        rssi = record.rssi + scanner.rssi_offset_db
        if rssi < ENTER_DBM:
            return
        self._sightings.setdefault(customer_id, {})[scanner.id] = _Sighting(now, rssi)
        zone = self._best_zone(customer_id, now)
        visit = self.visits.get(customer_id)
        if visit is None:
            self._arrive(profile, zone, "ble", now)
        else:
            visit.last_seen = now
            self._move(visit, zone, now)

    def tick(self) -> None:
        """Timers: departures. Called a few times a second live, per record in replay."""
        now = self.clock.now()
        for visit in self.visits.open_visits():
            if visit.via == "ble" and now - visit.last_seen > DEPART_AFTER_S:
                self.depart(visit.customer_id, "timeout")

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

    def _best_zone(self, customer_id: str, now: float) -> str:
        recent = [
            (s.rssi, scanner_id)
            for scanner_id, s in self._sightings.get(customer_id, {}).items()
            if now - s.at <= ZONE_WINDOW_S
        ]
        best = max(recent)[1]
        return self._scanners[best].zone

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
        self._sightings.pop(customer_id, None)
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
