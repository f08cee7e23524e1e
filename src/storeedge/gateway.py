"""The one typed way into the core from another thread.

Werkzeug's request threads (the kiosk and staff screens) and paho's network thread
(inbound profiles, erasures and commands) never hold a core object: they call a
method of :class:`CoreGateway`, named after the act, and the gateway runs it on the
core loop (``CoreLoop.call``) and hands back plain values. The core therefore
needs no locks: its state has one owner, the core thread.

A request thread that cannot get an answer in time gets :class:`CoreBusyError`, never a
half-done act: the act either ran whole on the core thread or did not run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

from storeedge.core.command_desk import CommandReply
from storeedge.core.kiosk_messages import ActResult
from storeedge.core.pipeline import Pipeline
from storeedge.core.profiles import CustomerProfile
from storeedge.runtime import CoreLoop

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

WEB_TIMEOUT_S: Final = 3.0  # a tablet waits this long before it is told "busy"
INBOUND_TIMEOUT_S: Final = 10.0  # paho's thread waits this long for a profile or command


class CoreBusyError(Exception):
    """The core loop did not answer in time (or is stopped); nothing was done."""


class CoreGateway:
    """Every act another thread may ask of the core; each runs on the core loop."""

    def __init__(self, loop: CoreLoop, pipeline: Pipeline) -> None:
        self._loop = loop
        self._pipeline = pipeline

    def _run(self, act: Callable[[], T], timeout: float = WEB_TIMEOUT_S) -> T:
        if self._loop.loop.is_closed():
            raise CoreBusyError("the core loop is stopped")
        try:
            return self._loop.call(act, timeout=timeout)
        except TimeoutError:
            raise CoreBusyError("the core loop did not answer in time") from None
        except RuntimeError as exc:  # NB: the loop closed between the check and the call
            if self._loop.loop.is_closed():
                raise CoreBusyError("the core loop is stopped") from exc
            raise

    # --- liveness -----------------------------------------------------------------------

    def alive(self, timeout: float = 1.0) -> bool:
        """True when the core loop runs a call within ``timeout`` (health, watchdog)."""
        try:
            return self._run(lambda: True, timeout)
        except CoreBusyError:
            return False

    def gauges(self) -> tuple[int, dict[str, int], int]:
        """Open visits, open alerts by kind and profiles held, as plain numbers (/metrics)."""

        def read() -> tuple[int, dict[str, int], int]:
            kinds = Counter(alert.kind for alert in self._pipeline.alerts.open_alerts())
            profiles = len(self._pipeline.profiles)
            return len(self._pipeline.visits.open_visits()), dict(kinds), profiles

        return self._run(read, 1.0)

    def counters(self) -> dict[str, int]:
        """A copy of the core's counters (rejections, QR outcomes), for health and metrics."""
        return self._run(lambda: dict(self._pipeline.counters), 1.0)

    # --- start ------------------------------------------------------------------------------

    def load_profiles(self, profiles: Iterable[CustomerProfile]) -> int:
        batch = list(profiles)
        self._run(lambda: self._pipeline.load_profiles(batch), INBOUND_TIMEOUT_S)
        return len(batch)

    def close_left_open(self) -> int:
        """At start: depart the visits a crashed run left open in the journal."""
        return self._run(self._pipeline.close_left_open, INBOUND_TIMEOUT_S)

    def depart_all(self, reason: str, timeout: float) -> int:
        """At stop: every open visit gets its ``departed``."""
        return self._run(lambda: self._pipeline.depart_all(reason), timeout)

    # --- staff console --------------------------------------------------------------------

    def staff_sync(self, connection: str) -> None:
        self._run(lambda: self._pipeline.staff_sync(connection))

    def claim_alert(self, alert_id: str, staff: str) -> bool:
        return self._run(lambda: self._pipeline.claim_alert(alert_id, staff))

    def resolve_alert(self, alert_id: str, staff: str) -> bool:
        return self._run(lambda: self._pipeline.resolve_alert(alert_id, staff))

    def hand_over(
        self, order_id: str, code: str | None, proof: str, staff: str, connection: str
    ) -> str | None:
        """Hand an order over from a console (``proof``: ``code`` or ``staff``).

        None when done; else the refusal's reason, also shown on that console.
        """
        return self._run(lambda: self._pipeline.hand_over(order_id, code, proof, staff, connection))

    # --- kiosk screens ----------------------------------------------------------------------

    def kiosk_sync(self, kiosk_id: str, connection: str) -> bool:
        return self._run(lambda: self._pipeline.kiosk_sync(kiosk_id, connection))

    # --- kiosk: the personal space (storeedge.core.kiosk_desk / kiosk_acts) -------------------
    # NB: ``kiosk_id`` always comes from the page's own connection, never from its payload.

    def _now(self) -> float:
        return self._pipeline.clock.now()

    def kiosk_link_lost(self, kiosk_id: str) -> None:
        self._run(lambda: self._pipeline.kiosk.link_lost(kiosk_id, self._now()))

    def touch(self, kiosk_id: str, session_id: str) -> ActResult:
        return self._run(lambda: self._pipeline.kiosk_acts.touch(kiosk_id, session_id, self._now()))

    def stay(self, kiosk_id: str, session_id: str) -> ActResult:
        return self.touch(kiosk_id, session_id)

    def close_space(self, kiosk_id: str, session_id: str) -> ActResult:
        acts = self._pipeline.kiosk_acts
        return self._run(lambda: acts.close_space(kiosk_id, session_id, self._now()))

    def add_to_cart(self, kiosk_id: str, session_id: str, sku: str, qty: int) -> ActResult:
        acts = self._pipeline.kiosk_acts
        return self._run(lambda: acts.add_to_cart(kiosk_id, session_id, sku, qty, self._now()))

    def remove_line(self, kiosk_id: str, session_id: str, line_id: str) -> ActResult:
        acts = self._pipeline.kiosk_acts
        return self._run(lambda: acts.remove_line(kiosk_id, session_id, line_id, self._now()))

    def request_order(
        self, kiosk_id: str, session_id: str, sku: str, qty: int, fulfilment: str
    ) -> ActResult:
        acts = self._pipeline.kiosk_acts
        return self._run(
            lambda: acts.request_order(kiosk_id, session_id, sku, qty, fulfilment, self._now())
        )

    def request_return(
        self, kiosk_id: str, session_id: str, order_id: str, skus: Sequence[str], reason: str
    ) -> ActResult:
        acts, chosen = self._pipeline.kiosk_acts, tuple(skus)
        return self._run(
            lambda: acts.request_return(kiosk_id, session_id, order_id, chosen, reason, self._now())
        )

    def pickup_here(self, kiosk_id: str, session_id: str, order_id: str) -> ActResult:
        acts = self._pipeline.kiosk_acts
        return self._run(lambda: acts.pickup_here(kiosk_id, session_id, order_id, self._now()))

    def call_advisor(self, kiosk_id: str, session_id: str) -> ActResult:
        acts = self._pipeline.kiosk_acts
        return self._run(lambda: acts.call_advisor(kiosk_id, session_id, self._now()))

    def handoff(self, kiosk_id: str, session_id: str) -> ActResult:
        acts = self._pipeline.kiosk_acts
        return self._run(lambda: acts.handoff(kiosk_id, session_id, self._now()))

    def pairing_payload(self, kiosk_id: str, nonce: str) -> str | None:
        """The text of the kiosk's pairing QR, while ``nonce`` is current (for its image)."""
        return self._run(lambda: self._pipeline.kiosk.pairing_payload(kiosk_id, nonce))

    def pairing_now(self, kiosk_id: str) -> str | None:
        """The pairing QR text this kiosk shows now (the demo's simulated app reads it)."""
        desk = self._pipeline.kiosk
        return self._run(
            lambda: desk.pairing(kiosk_id).payload if desk.nonces.current(kiosk_id) else None
        )

    def depart_member(self, customer_id: str, reason: str) -> bool:
        """The member's visit ends now (the demo's "Jean walks away")."""

        def depart() -> bool:
            if self._pipeline.visits.get(customer_id) is None:
                return False
            self._pipeline.depart(customer_id, reason)
            return True

        return self._run(depart)

    def handoff_payload(self, kiosk_id: str, token: str) -> str | None:
        desk = self._pipeline.kiosk
        return self._run(lambda: desk.handoff_payload(kiosk_id, token, self._now()))

    def qr_scanned(self, scanner_id: str, text: str) -> str | None:
        """A line from a QR scanner the core loop does not read itself (the demo's
        simulated one); returns the refusal's reason, or None when accepted."""
        return self._run(lambda: self._pipeline.on_qr(scanner_id, text).reason)

    def load_catalog(self, products: Mapping[str, Mapping[str, Any]]) -> int:
        batch = dict(products)
        self._run(lambda: self._pipeline.kiosk.catalog.load(batch), INBOUND_TIMEOUT_S)
        return len(batch)

    # --- inbound (paho's thread; storeedge.adapters.mqtt_inbound.InboundHandler) -----------

    def on_profile(self, profile: CustomerProfile) -> None:
        self.apply_profile(profile)

    def apply_profile(self, profile: CustomerProfile) -> None:
        self._run(lambda: self._pipeline.upsert_profile(profile), INBOUND_TIMEOUT_S)

    def on_erase(self, customer_id: str) -> None:
        """Forget the customer in memory; returns only once that is done (raises otherwise).

        NB: the inbound adapter acknowledges an erasure only after this returns.
        """
        self._run(lambda: self._pipeline.erase_customer(customer_id), INBOUND_TIMEOUT_S)

    def on_catalog(self, sku: str, product: dict[str, Any] | None) -> None:
        """A product changed (already in the local cache): the kiosks' copy follows."""
        self._run(lambda: self._pipeline.kiosk.catalog.put(sku, product), INBOUND_TIMEOUT_S)

    def on_command(self, name: str, event: dict[str, Any]) -> dict[str, Any] | None:
        data = event.get("data")
        try:
            reply: CommandReply = self._run(
                lambda: self._pipeline.on_command(name, data), INBOUND_TIMEOUT_S
            )
        except CoreBusyError:
            _LOGGER.warning("command %s (id %s) not run: core busy", name, event.get("id"))
            raise
        return dict(reply.body())
