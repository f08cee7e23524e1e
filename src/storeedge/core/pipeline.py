"""The pipeline: recognition -> visits -> rules, the same code live, in replay and in tests.

Everything here runs on one thread (the core loop's, live; the caller's in replay):
no locks, and time only from the injected clock.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

from storeedge.core.anonymous import AnonymousTraffic, tx_at_0m
from storeedge.core.beacons import BeaconProblem, BeaconWatch
from storeedge.core.calibration import Calibration
from storeedge.core.clock import Clock
from storeedge.core.command_desk import CommandDesk, CommandReply
from storeedge.core.events import JSON, Event, EventFactory
from storeedge.core.footfall import Footfall
from storeedge.core.kiosk_acts import KioskActs
from storeedge.core.kiosk_commands import KioskCommands
from storeedge.core.kiosk_desk import KioskDesk
from storeedge.core.kiosk_screens import KioskScreens
from storeedge.core.ports import (
    AdvertRecord,
    Aes128,
    EventSink,
    NullJournal,
    OpenVisit,
    UiSink,
    VisitJournal,
)
from storeedge.core.presence import Presence, Tuning
from storeedge.core.profiles import CustomerProfile
from storeedge.core.qr import QrResult
from storeedge.core.qr_door import QrDoor
from storeedge.core.recognition import Recognizer
from storeedge.core.screens import (
    AlertChanged,
    AlertView,
    MemberForgotten,
    MemberLeft,
    MemberPresent,
    MemberView,
    StaffSnapshot,
)
from storeedge.core.settings import QrScannerSettings, ScannerSettings, Settings
from storeedge.core.staff_desk import StaffDesk
from storeedge.core.timefmt import format_time
from storeedge.core.visits import Visit, VisitBook

_LOGGER = logging.getLogger(__name__)

TICK_EVERY_S = 0.2  # timers run at most this often (the live ticker calls every 0.25 s)
BEACON_CHECK_S = 10.0
NON_BLE_IDLE_S = 1800.0  # a QR/app/staff visit that BLE never confirmed closes after this


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
        beacon_catalog: tuple[str, ...] | None = None,
        journal: VisitJournal | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self.settings = settings
        self._journal: VisitJournal = journal or NullJournal()
        self.clock = clock
        self._sink = sink
        self._ui = ui
        self.events = events or EventFactory()
        self.visits = VisitBook(self.events)
        self.recognizer = Recognizer(aes)
        self.presence = Presence(
            settings.scanners,
            tuning,
            settings.store.door,
            calibration or settings.presence.calibration,
        )
        self.footfall = Footfall()
        if beacon_catalog is None:
            beacon_catalog = settings.presence.beacons
        self.beacons = BeaconWatch(beacon_catalog)
        self.profiles: dict[str, CustomerProfile] = {}
        self.counters: Counter[str] = Counter()
        self.commands = CommandDesk()
        self.qr = QrDoor(settings.qr_scanners, self.counters)
        self.qr.on_member(self._member_code)
        self.staff = StaffDesk(
            settings, self.events, self._emit, ui.show, self.visits, lambda: self.profiles,
            self._arrive, self.qr.verifier,
        )  # fmt: skip
        self.alerts = self.staff.alerts
        self.staff.register(self.commands)
        self.qr.on_pickup(self.staff.pickup_scanned)
        self.qr.on_refused(self.staff.code_refused)
        # NB: the personal space (kiosk_desk, kiosk_acts, kiosk_commands) owns its own rules
        self.kiosk = KioskDesk(
            settings.kiosks,
            self.events,
            ui,
            self._emit,
            self._profile,
            self._present,
            self._ask_staff,
        )
        self.kiosk_acts = KioskActs(self.kiosk)
        kiosk_commands = KioskCommands(self.kiosk, self.commands)
        self.qr.gate_with(kiosk_commands.qr_gate)
        self.qr.on_refused(kiosk_commands.qr_refused)
        self._anonymous = AnonymousTraffic(
            self.footfall, self.beacons, self.events, self.counters, self._emit, self._beacon_alert
        )
        self._scanners: dict[str, ScannerSettings] = {s.id: s for s in settings.scanners}
        self.kiosk_screens = KioskScreens(settings.kiosks, ui)
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
        self.kiosk.profile_changed(profile, now)

    def erase_customer(self, customer_id: str) -> None:
        """Forget everything held in memory on this customer, at once and without events."""
        self.profiles.pop(customer_id, None)
        self.recognizer.erase(customer_id)
        self.presence.forget(customer_id)
        visit = self.visits.get(customer_id)
        self.visits.forget(customer_id)
        if visit is not None:
            self._journal.closed(visit.visit_id)  # NB: on disk too, before the erasure is acked
        self.staff.forget(customer_id)
        self.qr.forget_customer(customer_id)
        self.kiosk_screens.forget(customer_id)
        self.kiosk.forget_customer(customer_id)
        if visit is not None:
            self._ui.show(MemberForgotten(customer_id))

    def on_command(self, name: str, data: object) -> CommandReply:
        """A central command (CONTRACTS 7), already deduplicated and not expired."""
        return self.commands.handle(name, data, self.clock.now())

    def on_qr(self, scanner_id: str, text: str) -> QrResult:
        """One line from a QR scanner (member card or pickup code)."""
        return self.qr.scan(scanner_id, text, self.profiles, self.clock.now())

    def _member_code(
        self, scanner: QrScannerSettings, _result: QrResult, profile: CustomerProfile, now: float
    ) -> None:
        """A member card scanned: opens a visit if none is open, and at a kiosk's scanner
        that member's personal space on that kiosk."""
        self._present(profile, scanner.zone, "qr", now)
        if scanner.kiosk is not None:
            self.kiosk.open(scanner.kiosk, profile, "qr", now)

    def _profile(self, customer_id: str) -> CustomerProfile | None:
        return self.profiles.get(customer_id)  # NB: load_profiles replaces the dict

    def _present(self, profile: CustomerProfile, zone: str, via: str, now: float) -> None:
        """An explicit act by the member here (QR, app): a visit, if none is open."""
        visit = self.visits.get(profile.customer_id)
        if visit is None:
            self._arrive(profile, zone, via, now)
        else:
            visit.last_seen = now

    # --- inputs ----------------------------------------------------------------------------

    def on_advert(self, record: AdvertRecord) -> None:
        scanner = self._scanners.get(record.scanner)
        if scanner is None:
            self.counters["advert.unknown_scanner"] += 1
            return
        now = self.clock.now()
        customer_id = self.recognizer.resolve(record, now)
        if customer_id is None:
            self._anonymous.observe(record, scanner, now)
            return  # NB: nothing about an unresolved device outlives the footfall window
        profile = self.profiles.get(customer_id)
        if profile is None:
            return
        self.footfall.observe(customer_id, record.rssi + scanner.rssi_offset_db, False, now)
        change = self.presence.observe(customer_id, scanner.id, record.rssi, tx_at_0m(record), now)
        visit = self.visits.get(customer_id)
        if visit is not None:
            visit.last_seen = now
        if change is None:
            return
        if visit is None:
            self._arrive(profile, change.zone, "ble", now)
        else:
            self._move(visit, change.zone, now)

    def _beacon_alert(self, problem: BeaconProblem, now: float) -> None:
        details: dict[str, JSON] = {"beacon_id": problem.beacon_id, "problem": problem.problem}
        if problem.battery_mv is not None:
            details["battery_mv"] = problem.battery_mv
        _LOGGER.warning("store beacon %s: %s", problem.beacon_id, problem.problem)
        raised = self.alerts.raise_alert("beacon", None, problem.zone, now, details)
        if raised is not None:
            self.staff.publish(*raised)

    def tick(self) -> None:
        """Timers. Called a few times a second live, per record in replay (cheap when early)."""
        now = self.clock.now()
        if now - self._last_tick < TICK_EVERY_S:
            return
        self._last_tick = now
        self.recognizer.maintain(now)
        for customer_id in self.presence.expire(now):
            self.depart(customer_id, "timeout")
        self.staff.tick(now)
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
        self.kiosk.tick(now)
        if now - self._last_beacon_check >= BEACON_CHECK_S:
            self._last_beacon_check = now
            for problem in self.beacons.check(now):
                self._beacon_alert(problem, now)

    # --- staff actions --------------------------------------------------------------------

    def claim_alert(self, alert_id: str, staff_id: str) -> bool:
        return self.staff.claim(alert_id, staff_id, self.clock.now())

    def resolve_alert(self, alert_id: str, staff_id: str) -> bool:
        return self.staff.resolve(alert_id, staff_id, self.clock.now())

    def hand_over(
        self, order_id: str, code: str | None, proof: str, staff_id: str, connection: str
    ) -> str | None:
        """A handover from a console; None when done, else the refusal's reason."""
        return self.staff.hand_over(order_id, code, proof, staff_id, connection, self.clock.now())

    def raise_customer_alert(
        self, kind: str, customer_id: str, zone: str, details: dict[str, JSON] | None = None
    ) -> AlertView | None:
        """A member's explicit ask (kiosk buttons): one open alert per (kind, customer,
        order); None when this customer may not be alerted on."""
        return self.staff.raise_customer_alert(
            kind, customer_id, zone, details or {}, self.clock.now()
        )

    def adopt_alert(self, alert_id: str, kind: str, detail: str) -> None:
        """Edge trouble whose ``alert.raised`` the outbox recorded itself (disk full, corrupt)."""
        details: dict[str, JSON] = {"detail": detail}
        alert = self.alerts.adopt(alert_id, kind, "back-office", self.clock.now(), details)
        self._ui.show(AlertChanged(alert.view()))

    def staff_sync(self, connection: str) -> None:
        """Send one (re)connected console who is in and which alerts are open.

        NB: shown on the core thread, after the console joined the staff room: every
        later message reaches it after this snapshot.
        """
        members = tuple(self._member_view(v) for v in self.visits.open_visits())
        alerts = tuple(a.view() for a in self.alerts.open_alerts())
        self._ui.show(StaffSnapshot(connection, members, alerts))
        self.staff.sync(connection, self.clock.now())

    def kiosk_sync(self, kiosk_id: str, connection: str) -> bool:
        now = self.clock.now()
        if not self.kiosk_screens.sync(kiosk_id, connection, now):
            return False
        self.kiosk.sync(kiosk_id, connection, now)
        return True

    def _ask_staff(
        self, kind: str, customer_id: str, zone: str, details: dict[str, JSON], _now: float
    ) -> bool:
        """A kiosk's "I'm here" / "call an advisor": the staff desk's one open alert."""
        return self.raise_customer_alert(kind, customer_id, zone, details) is not None

    # --- visits ---------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self._sink.emit(event)

    def _arrive(self, profile: CustomerProfile, zone: str, via: str, now: float) -> None:
        visit, event = self.visits.arrive(profile.customer_id, zone, via, now)
        self._emit(event)
        self._journal.opened(_journaled(visit, now))
        _LOGGER.info("arrival visit=%s zone=%s via=%s", visit.visit_id, zone, via)
        if profile.consent.staff_alerts:
            self._ui.show(MemberPresent(self._member_view(visit)))
        self.staff.arrived(profile, visit, now)
        self.kiosk_screens.entered(profile, zone, now)

    def _move(self, visit: Visit, zone: str, now: float) -> None:
        previous = visit.zone
        event = self.visits.move(visit.customer_id, zone, now)
        if event is None:
            return
        self._emit(event)
        self._journal.opened(_journaled(visit, now))
        self.kiosk_screens.left(visit.customer_id, previous)
        self.kiosk.moved(visit.customer_id, previous, zone, now)
        profile = self.profiles.get(visit.customer_id)
        if profile is not None:
            self.kiosk_screens.entered(profile, zone, now)
            if profile.consent.staff_alerts:
                self._ui.show(MemberPresent(self._member_view(visit)))

    def depart(self, customer_id: str, reason: str) -> None:
        visit = self.visits.get(customer_id)
        event = self.visits.depart(customer_id, self.clock.now(), reason)
        if visit is None or event is None:
            return
        self._emit(event)
        self._journal.closed(visit.visit_id)
        self.presence.forget(customer_id)
        self.kiosk_screens.left(customer_id, visit.zone)
        self.kiosk.left(customer_id, self.clock.now())
        self._ui.show(MemberLeft(customer_id))
        self.staff.departed(customer_id, self.clock.now())

    def depart_all(self, reason: str = "edge_stopped") -> int:
        """A clean stop: every open visit gets its ``departed`` now."""
        visits = self.visits.open_visits()
        for visit in visits:
            self.depart(visit.customer_id, reason)
        return len(visits)

    def close_left_open(self) -> int:
        """At start: depart the visits a crashed run left open (dwell to their last update)."""
        left = self._journal.left_open()
        now = self.clock.now()
        for entry in left:
            if self.visits.get(entry.customer_id) is not None:
                continue
            visit = Visit(
                entry.visit_id, entry.customer_id, entry.started_at, entry.zone, "ble", now
            )
            self.visits.restore(visit)
            event = self.visits.depart(entry.customer_id, now, "edge_restarted", entry.updated_at)
            if event is not None:
                self._emit(event)
            self._journal.closed(entry.visit_id)
        return len(left)

    def _member_view(self, visit: Visit) -> MemberView:
        profile = self.profiles.get(visit.customer_id)
        return MemberView(
            customer_id=visit.customer_id,
            visit_id=visit.visit_id,
            display_name=profile.display_name if profile else "",
            zone=visit.zone,
            via=visit.via,
            since=visit.started_at,
            tier=profile.tier if profile else "",
            vip=profile.vip if profile else False,
            pickups=tuple(
                o.order_id for o in profile.ready_pickups() if o.order_id not in self.staff.handed
            )
            if profile
            else (),
        )


def _journaled(visit: Visit, now: float) -> OpenVisit:
    return OpenVisit(visit.visit_id, visit.customer_id, visit.started_at, visit.zone, now)
