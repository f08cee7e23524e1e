"""What reaches the kiosks from outside the page: central's commands and the QR door.

``pairing.claim`` (CONTRACTS 7): the app scanned a kiosk's pairing QR; a good, unused
nonce opens the member's space there (``method: "app"``), else ``rejected`` with why.
``kiosk.message``: a store message on the attract screen until ``until``.
QR door: a refused code scanned at a kiosk's scanner shows that kiosk a notice; failed
codes brake the scanner and the member id (:class:`~storeedge.core.kiosk_tokens.QrBrake`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Final

from storeedge.core.command_desk import OK, CommandDesk, CommandReply
from storeedge.core.events import JSON
from storeedge.core.kiosk_desk import KioskDesk
from storeedge.core.kiosk_messages import Notice, StoreMessage
from storeedge.core.profiles import valid_customer_id
from storeedge.core.qr import QrResult, parse_qr
from storeedge.core.settings import QrScannerSettings
from storeedge.core.timefmt import parse_time

MAX_MESSAGE: Final = 200
MAX_NONCE: Final = 64
# A refusal's reason -> the notice the shopper reads (kiosk.notice.* in the i18n files).
NOTICE_KEYS: Final = {
    "already_used": "kiosk.notice.code_used",
    "rate_limited": "kiosk.notice.rate_limited",
    "unknown_id": "kiosk.notice.code_unknown",
    "no_consent": "kiosk.notice.code_unknown",
    "no_qr_secret": "kiosk.notice.code_unknown",
}
DEFAULT_NOTICE: Final = "kiosk.notice.code_refused"


class KioskCommands:
    def __init__(self, desk: KioskDesk, commands: CommandDesk) -> None:
        self._desk = desk
        commands.register("pairing.claim", self.pairing_claim)
        commands.register("kiosk.message", self.kiosk_message)

    def _kiosk_id(self, value: object) -> str | None:
        if not isinstance(value, str):
            return None
        for kiosk_id in self._desk.kiosks:  # NB: the QR carries it upper-cased
            if kiosk_id.upper() == value.upper():
                return kiosk_id
        return None

    def pairing_claim(  # noqa: PLR0911  # one early return per refusal reason reads best
        self, data: Mapping[str, JSON], now: float
    ) -> CommandReply:
        kiosk_id = self._kiosk_id(data.get("kiosk_id"))
        if kiosk_id is None:
            return CommandReply("rejected", "unknown kiosk")
        customer_id, nonce = data.get("customer_id"), data.get("nonce")
        if not isinstance(customer_id, str) or not valid_customer_id(customer_id):
            return CommandReply("rejected", "customer_id: malformed")
        if not isinstance(nonce, str) or not 0 < len(nonce) <= MAX_NONCE:
            return CommandReply("rejected", "nonce: malformed")
        profile = self._desk.profile(customer_id)
        if profile is None:
            return CommandReply("rejected", "unknown customer")
        if not profile.consent.current(now):
            return CommandReply("rejected", "no consent")
        refused = self._desk.nonces.claim(kiosk_id, nonce.upper(), now)
        if refused is not None:
            return CommandReply("rejected", refused.replace("_", " "))
        self._desk.show_pairing(kiosk_id, now)  # NB: a used nonce is never shown again
        self._desk.present(profile, self._desk.kiosks[kiosk_id].zone, "app", now)
        self._desk.open(kiosk_id, profile, "app", now)
        return OK

    def kiosk_message(self, data: Mapping[str, JSON], now: float) -> CommandReply:
        raw_kiosk = data.get("kiosk_id")
        if raw_kiosk is None:
            targets = list(self._desk.kiosks)
        else:
            kiosk_id = self._kiosk_id(raw_kiosk)
            if kiosk_id is None:
                return CommandReply("rejected", "unknown kiosk")
            targets = [kiosk_id]
        text = data.get("text")
        if not isinstance(text, str):
            return CommandReply("rejected", "text: expected a string")
        text = " ".join("".join(c for c in text if unicodedata.category(c)[0] != "C").split())
        if not 0 < len(text) <= MAX_MESSAGE:
            return CommandReply("rejected", f"text: 1 to {MAX_MESSAGE} characters")
        try:
            until = parse_time(data.get("until"))  # type: ignore[arg-type]  # checks the type
        except ValueError:
            return CommandReply("rejected", "until: expected an RFC 3339 time")
        if until <= now:
            return CommandReply("rejected", "until: already past")
        for kiosk_id in targets:
            self._desk.store_messages[kiosk_id] = (text, until)
            self._desk.ui.show(StoreMessage(kiosk_id, text))
        return OK

    # --- the QR door's hooks ------------------------------------------------------------------

    def qr_gate(
        self, scanner: QrScannerSettings, text: str, refusal: QrResult | None, now: float
    ) -> str | None:
        parsed = parse_qr(text)
        ident = None if isinstance(parsed, str) else parsed.ident
        if refusal is None:
            return "rate_limited" if self._desk.brake.blocked(scanner.id, ident, now) else None
        self._desk.brake.failed(scanner.id, ident, now)
        return None

    def qr_refused(self, scanner: QrScannerSettings, result: QrResult, _now: float) -> None:
        if scanner.kiosk is None or scanner.kiosk not in self._desk.kiosks:
            return
        key = NOTICE_KEYS.get(result.reason or "", DEFAULT_NOTICE)
        self._desk.ui.show(Notice(scanner.kiosk, "refused", key))
