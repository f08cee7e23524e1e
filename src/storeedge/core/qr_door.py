"""The QR door: every scan from every QR scanner, verified once, routed to who acts on it.

A member code (``SE1:M:…``) and a pickup code (``SE1:P:…``) are checked here against
the profiles (TOTP, one step of skew, accepted once; consent current). What a
verified code does belongs to the rule that owns it, registered with
:meth:`QrDoor.on_member` and :meth:`QrDoor.on_pickup`; a refused code goes to
:meth:`QrDoor.on_refused` (which may show the shopper a notice). Every outcome is
counted under ``qr.*``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

from storeedge.core.profiles import CustomerProfile
from storeedge.core.qr import QrResult, QrVerifier
from storeedge.core.settings import QrScannerSettings

# (scanner, the verified result with customer_id set, the owner's profile, now)
QrHandler = Callable[[QrScannerSettings, QrResult, CustomerProfile, float], None]
# (scanner, the refusal with reason set, now)
QrRefusal = Callable[[QrScannerSettings, QrResult, float], None]
# (scanner, the scanned text, the refusal or None when accepted, now) -> a reason to refuse
# before verifying (rate limits), or None. Called once before and once after each check.
QrGate = Callable[[QrScannerSettings, str, QrResult | None, float], str | None]


class QrDoor:
    def __init__(self, scanners: tuple[QrScannerSettings, ...], counters: Counter[str]) -> None:
        self._scanners = {s.id: s for s in scanners}
        self._counters = counters
        self.verifier = QrVerifier()
        self._handlers: dict[str, QrHandler] = {}
        self._refused: list[QrRefusal] = []
        self._gates: list[QrGate] = []

    def on_member(self, handler: QrHandler) -> None:
        self._handlers["member"] = handler

    def on_pickup(self, handler: QrHandler) -> None:
        self._handlers["pickup"] = handler

    def on_refused(self, handler: QrRefusal) -> None:
        self._refused.append(handler)

    def gate_with(self, gate: QrGate) -> None:
        """A brake (rate limit) asked before each check, and told each refusal."""
        self._gates.append(gate)

    def scan(
        self, scanner_id: str, text: str, profiles: Mapping[str, CustomerProfile], now: float
    ) -> QrResult:
        scanner = self._scanners.get(scanner_id)
        if scanner is None:
            self._counters["qr.unknown_scanner"] += 1
            return QrResult("unknown", reason="unknown_scanner")
        braked = next((r for g in self._gates if (r := g(scanner, text, None, now))), None)
        result = (
            QrResult("unknown", reason=braked)
            if braked
            else self.verifier.verify(text, profiles, now)
        )
        profile = profiles.get(result.customer_id) if result.customer_id else None
        if not result.ok or profile is None:
            refusal = result if not result.ok else QrResult(result.kind, reason="unknown_id")
            self._counters[f"qr.refused.{refusal.reason}"] += 1
            if not braked:
                for gate in self._gates:
                    gate(scanner, text, refusal, now)
            for refused in self._refused:
                refused(scanner, refusal, now)
            return refusal
        self._counters[f"qr.accepted.{result.kind}"] += 1
        handler = self._handlers.get(result.kind)
        if handler is None:
            self._counters[f"qr.unhandled.{result.kind}"] += 1
        else:
            handler(scanner, result, profile, now)
        return result

    def forget_customer(self, customer_id: str) -> None:
        self.verifier.forget_customer(customer_id)
