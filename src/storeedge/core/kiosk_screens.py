"""What each kiosk screen shows because of who stands in its zone: a discreet greeting.

The personal space opens only on an explicit act (``kiosk_sessions``); being near
a kiosk earns at most a first name. The core remembers the greeting a kiosk shows,
so a page that reconnects is told the same thing, and forgets it on clear and after
the kiosk's idle time. Two members at the same kiosk: nobody is greeted by name (each
would read the other's name).
"""

from __future__ import annotations

from dataclasses import dataclass

from storeedge.core.ports import UiSink
from storeedge.core.profiles import CustomerProfile, first_name
from storeedge.core.screens import Greeting, KioskCleared, KioskState
from storeedge.core.settings import KioskSettings


@dataclass(frozen=True, slots=True)
class _Shown:
    greeting: Greeting
    customer_id: str
    at: float


class KioskScreens:
    def __init__(self, kiosks: tuple[KioskSettings, ...], ui: UiSink) -> None:
        self._ui = ui
        self._kiosks = {k.id: k for k in kiosks}
        self._by_zone = {k.zone: k for k in kiosks}
        self._shown: dict[str, _Shown] = {}
        self._near: dict[str, set[str]] = {}  # kiosk id -> members in its zone now

    def entered(self, profile: CustomerProfile, zone: str, at: float) -> None:
        kiosk = self._by_zone.get(zone)
        if kiosk is None:
            return
        near = self._near.setdefault(kiosk.id, set())
        near.add(profile.customer_id)
        if len(near) > 1:
            if self._shown.pop(kiosk.id, None) is not None:
                self._ui.show(KioskCleared(kiosk.id))
            return
        if not profile.consent.personalization:
            return
        name = first_name(profile.display_name)
        if not name:
            return
        language = profile.language if profile.language in ("fr", "en") else kiosk.language
        greeting = Greeting(kiosk.id, name, language)
        self._shown[kiosk.id] = _Shown(greeting, profile.customer_id, at)
        self._ui.show(greeting)

    def left(self, customer_id: str, zone: str) -> None:
        kiosk = self._by_zone.get(zone)
        if kiosk is None:
            return
        self._near.get(kiosk.id, set()).discard(customer_id)
        shown = self._shown.get(kiosk.id)
        if shown is not None and shown.customer_id != customer_id:
            return  # NB: someone else is greeted there now; their greeting stays
        self._shown.pop(kiosk.id, None)
        self._ui.show(KioskCleared(kiosk.id))

    def forget(self, customer_id: str) -> None:
        for near in self._near.values():
            near.discard(customer_id)
        for kiosk_id in [k for k, s in self._shown.items() if s.customer_id == customer_id]:
            del self._shown[kiosk_id]
            self._ui.show(KioskCleared(kiosk_id))

    def sync(self, kiosk_id: str, connection: str, at: float) -> bool:
        """Tell one (re)connected page what to show now; False for an unknown kiosk."""
        kiosk = self._kiosks.get(kiosk_id)
        if kiosk is None:
            return False
        shown = self._shown.get(kiosk_id)
        if shown is not None and at - shown.at > kiosk.idle_s:
            del self._shown[kiosk_id]
            shown = None
        self._ui.show(KioskState(connection, kiosk_id, shown.greeting if shown else None))
        return True
