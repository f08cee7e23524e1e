"""The kiosks' personal spaces: who has one open where, and when it closes.

A space opens only on the member's explicit act at that kiosk: their member QR at the
kiosk's scanner, or the app claiming the kiosk's pairing QR (``pairing.claim``). It
closes on ``close-space``, when the member walks away from the kiosk zone or leaves,
after the kiosk's ``idle_s`` without a touch plus an answered-by-nobody "still there?"
warning (:data:`~storeedge.core.kiosk_sessions.IDLE_GRACE_S`), when the kiosk page
loses its link or reloads, on erasure and when consent is withdrawn. Closing tells the
page to remove everything and forgets the space here.

Runs on the core thread; the shopper's acts are in :mod:`storeedge.core.kiosk_acts`,
central's commands and the QR door's hooks in :mod:`storeedge.core.kiosk_commands`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from storeedge.core.events import JSON, Event, EventFactory
from storeedge.core.kiosk_messages import (
    IdleWarning,
    KioskSnapshot,
    LinkState,
    PairingQr,
    SpaceClosed,
    SpaceOpened,
    SpaceUpdated,
    StoreMessage,
)
from storeedge.core.kiosk_sessions import IDLE_GRACE_S, KioskSession, KioskSessions
from storeedge.core.kiosk_space import Catalog, MemberBook, space_view
from storeedge.core.kiosk_tokens import Handoffs, PairingNonces, QrBrake, RandomBytes
from storeedge.core.ports import UiSink
from storeedge.core.profiles import CustomerProfile
from storeedge.core.settings import KioskSettings

_LOGGER = logging.getLogger(__name__)

# (profile, zone, via, now): make sure the member has an open visit (the pipeline's rule)
Presence = Callable[[CustomerProfile, str, str, float], None]
# (kind, customer_id, zone, details, now) -> whether a staff alert is open for it now
# (the staff desk keeps one per kind, customer and order, and checks consent)
RaiseAlert = Callable[[str, str, str, dict[str, JSON], float], bool]


class KioskDesk:
    def __init__(
        self,
        kiosks: tuple[KioskSettings, ...],
        events: EventFactory,
        ui: UiSink,
        emit: Callable[[Event], None],
        profiles: Callable[[str], CustomerProfile | None],
        present: Presence,
        raise_alert: RaiseAlert,
        random: RandomBytes = secrets.token_bytes,
    ) -> None:
        self.kiosks = {k.id: k for k in kiosks}
        self.events = events
        self.ui = ui
        self.emit_event = emit
        self.profile = profiles
        self.present = present
        self.raise_alert = raise_alert
        self.sessions = KioskSessions(kiosks, events)
        self.catalog = Catalog()
        self.members = MemberBook()
        self.nonces = PairingNonces(random)
        self.handoffs = Handoffs(random)
        self.brake = QrBrake()
        self.online = True  # NB: until the composition root tells us otherwise
        self.store_messages: dict[str, tuple[str, float]] = {}

    # --- opening and closing ----------------------------------------------------------------

    def open(self, kiosk_id: str, profile: CustomerProfile, method: str, now: float) -> None:
        if kiosk_id not in self.kiosks:
            return
        self.handoffs.drop(kiosk_id)
        self._emit_all(self.sessions.open(kiosk_id, profile.customer_id, method, now))
        session = self.sessions.current(kiosk_id)
        assert session is not None
        view = space_view(session.session_id, profile, self.catalog, self.members, now)
        self.ui.show(SpaceOpened(kiosk_id, view))
        _LOGGER.info("kiosk %s: space opened (%s)", kiosk_id, method)

    def close(self, kiosk_id: str, reason: str, now: float) -> bool:
        events = self.sessions.end(kiosk_id, reason, now)
        if not events:
            return False
        self.handoffs.drop(kiosk_id)
        self._emit_all(events)
        self.ui.show(SpaceClosed(kiosk_id, reason))
        _LOGGER.info("kiosk %s: space closed (%s)", kiosk_id, reason)
        return True

    def open_session(self, kiosk_id: str, session_id: str) -> KioskSession | None:
        session = self.sessions.current(kiosk_id)
        if session is None or not secrets.compare_digest(session.session_id, session_id):
            return None
        return session

    def refresh(self, kiosk_id: str, why: str, now: float) -> None:
        session = self.sessions.current(kiosk_id)
        if session is None:
            return
        profile = self.profile(session.customer_id)
        if profile is None:
            self.close(kiosk_id, "erased", now)
            return
        view = space_view(session.session_id, profile, self.catalog, self.members, now)
        self.ui.show(SpaceUpdated(kiosk_id, view, why))

    def _emit_all(self, events: list[Event]) -> None:
        for event in events:
            self.emit_event(event)

    def _kiosks_of(self, customer_id: str) -> list[str]:
        return [
            kiosk_id
            for kiosk_id in self.kiosks
            if (s := self.sessions.current(kiosk_id)) is not None and s.customer_id == customer_id
        ]

    # --- the pipeline's hooks ---------------------------------------------------------------

    def moved(self, customer_id: str, previous: str, zone: str, now: float) -> None:
        """The member's visit changed zone: leaving a kiosk's zone closes its space there."""
        for kiosk_id in self._kiosks_of(customer_id):
            if self.kiosks[kiosk_id].zone == previous != zone:
                self.close(kiosk_id, "walked_away", now)

    def left(self, customer_id: str, now: float) -> None:
        """The visit ended: close the member's spaces and forget this visit's cart edits."""
        for kiosk_id in self._kiosks_of(customer_id):
            self.close(kiosk_id, "departed", now)
        self.members.forget(customer_id)

    def profile_changed(self, profile: CustomerProfile, now: float) -> None:
        if not profile.consent.current(now):
            for kiosk_id in self._kiosks_of(profile.customer_id):
                self.close(kiosk_id, "consent_withdrawn", now)
            self.members.forget(profile.customer_id)
            return
        replaced = self.members.newer_cart(profile)
        for kiosk_id in self._kiosks_of(profile.customer_id):
            self.refresh(kiosk_id, "cart_replaced" if replaced else "profile", now)

    def forget_customer(self, customer_id: str) -> None:
        """Erasure: the space disappears at once; no event names the customer again."""
        for kiosk_id in self._kiosks_of(customer_id):
            self.handoffs.drop(kiosk_id)
            self.ui.show(SpaceClosed(kiosk_id, "erased"))
        self.sessions.forget_customer(customer_id)
        self.members.forget(customer_id)

    def tick(self, now: float) -> None:
        warn, close = self.sessions.due(now)
        for kiosk_id in warn:
            self.ui.show(IdleWarning(kiosk_id, IDLE_GRACE_S))
        for kiosk_id in close:
            self.close(kiosk_id, "idle", now)
        for kiosk_id in self.kiosks:
            if self.nonces.due(kiosk_id, now):
                self.show_pairing(kiosk_id, now)
        for kiosk_id, (_text, until) in list(self.store_messages.items()):
            if until <= now:
                del self.store_messages[kiosk_id]
                self.ui.show(StoreMessage(kiosk_id, None))

    def show_pairing(self, kiosk_id: str, now: float) -> None:
        self.nonces.rotate(kiosk_id, now)
        self.ui.show(self.pairing(kiosk_id))

    def pairing(self, kiosk_id: str) -> PairingQr:
        nonce = self.nonces.current(kiosk_id)
        assert nonce is not None
        kiosk = self.kiosks[kiosk_id]
        payload = f"HTTPS://{kiosk.app_host.upper()}/K/{kiosk_id.upper()}/{nonce.value}"
        return PairingQr(kiosk_id, payload, nonce.value)

    def set_online(self, online: bool) -> None:
        if online == self.online:
            return
        self.online = online
        _LOGGER.info("kiosks: central %s", "reachable" if online else "unreachable")
        for kiosk_id in self.kiosks:
            self.ui.show(LinkState(kiosk_id, online))

    # --- pages --------------------------------------------------------------------------------

    def sync(self, kiosk_id: str, connection: str, now: float) -> None:
        """A kiosk page (re)connected: a fresh page never inherits an open space."""
        self.close(kiosk_id, "page_reloaded", now)
        if self.nonces.due(kiosk_id, now):
            self.nonces.rotate(kiosk_id, now)
        message = self.store_messages.get(kiosk_id)
        text = message[0] if message is not None and message[1] > now else None
        self.ui.show(KioskSnapshot(connection, kiosk_id, self.pairing(kiosk_id), self.online, text))

    def link_lost(self, kiosk_id: str, now: float) -> None:
        self.close(kiosk_id, "link_lost", now)

    def pairing_payload(self, kiosk_id: str, nonce: str) -> str | None:
        """The pairing QR's text while ``nonce`` is this kiosk's current one (for its image)."""
        if kiosk_id not in self.kiosks or not self.nonces.is_current(kiosk_id, nonce):
            return None
        return self.pairing(kiosk_id).payload

    def handoff_payload(self, kiosk_id: str, token: str, now: float) -> str | None:
        handoff = self.handoffs.shown(kiosk_id, token, now)
        if handoff is None or kiosk_id not in self.kiosks:
            return None
        return handoff_text(self.kiosks[kiosk_id], handoff.token)


def handoff_text(kiosk: KioskSettings, token: str) -> str:
    return f"HTTPS://{kiosk.app_host.upper()}/H/{token}"
