"""Advertisement -> consenting member, or nobody (then it only counts as footfall).

The resolver keeps, for every member with current recognition consent, the EIDs
of the member's current rotation window and of both neighbours (clock skew) in
one dict: resolving an advertisement is one hash lookup. Windows roll over at
different moments for different members (K and clock offsets differ), so a heap
of "next boundary" times drives an incremental refresh, a bounded number of
members per call (:meth:`Recognizer.maintain`). A member whose refresh is late
is still resolved correctly: each table entry carries its window index and is
checked against the member's current window, so an EID two windows old is
refused even before its entry is replaced.

An address that has shown a member's EID (or tag) is remembered for as long as
that address stays in use, so the same phone's other frames (TLM, bare adverts)
count as sightings too. Only member addresses are remembered, only in memory.
"""

from __future__ import annotations

import gc
import heapq
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from storeedge.core.adverts import APPLE_COMPANY_ID, EDDYSTONE_UUID, FRAME_EID, ibeacon_key
from storeedge.core.eid import neighbour_eids
from storeedge.core.ports import AdvertRecord, Aes128
from storeedge.core.profiles import Consent, CustomerProfile, EidKey, IBeaconTag

_LOGGER = logging.getLogger(__name__)

ADDRESS_IDLE_S: Final = 120.0  # an address unheard this long is considered retired
REFRESH_BUDGET: Final = 2_000  # members refreshed per maintain() call: bounds the stall


@dataclass(slots=True)
class Member:
    customer_id: str
    consent: Consent
    key: EidKey | None
    tag: bytes | None
    window: int = -1  # the window index the table entries are centred on
    eids: list[bytes] = field(default_factory=list)
    generation: int = 0


def tag_key(tag: IBeaconTag) -> bytes:
    return (
        bytes.fromhex(tag.uuid.replace("-", ""))
        + tag.major.to_bytes(2, "big")
        + (tag.minor.to_bytes(2, "big"))
    )


class Recognizer:
    """Resolves advertisements to customer ids, for consenting members only."""

    def __init__(self, aes: Aes128, refresh_budget: int = REFRESH_BUDGET) -> None:
        self._aes = aes
        self._budget = refresh_budget
        self._members: dict[str, Member] = {}
        self._eids: dict[bytes, tuple[Member, int]] = {}
        self._tags: dict[bytes, Member] = {}
        self._addresses: dict[str, tuple[Member, float]] = {}
        self._due: list[tuple[float, int, str, int]] = []
        self._seq = 0
        self._last_sweep = 0.0
        self.counters: Counter[str] = Counter()

    # --- profiles --------------------------------------------------------------------------

    def load(self, profiles: Iterable[CustomerProfile], now: float) -> None:
        """Replace every member at once (start-up, full resync)."""
        self._members.clear()
        self._eids.clear()
        self._tags.clear()
        self._addresses.clear()
        self._due.clear()
        # NB: a bulk build allocates millions of small objects and no cycles; the cyclic
        # collector would rescan the growing table again and again (it doubled the time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            for profile in profiles:
                self._add(profile, now, self._due)
            heapq.heapify(self._due)
        finally:
            if collecting:
                gc.enable()

    def upsert(self, profile: CustomerProfile, now: float) -> None:
        self._remove(profile.customer_id)
        self._add(profile, now)

    def erase(self, customer_id: str) -> None:
        self._remove(customer_id)

    def _add(
        self,
        profile: CustomerProfile,
        now: float,
        bulk: list[tuple[float, int, str, int]] | None = None,
    ) -> None:
        if not profile.consent.current(now) or profile.ble is None:
            return  # NB: consent at ingest: no table entry, so never resolved
        ble = profile.ble
        member = Member(profile.customer_id, profile.consent, None, None)
        if isinstance(ble, EidKey):
            member.key = ble
            self._members[member.customer_id] = member
            entry = self._refresh(member, now)
            if bulk is None:
                heapq.heappush(self._due, entry)
            else:
                bulk.append(entry)
        else:
            member.tag = tag_key(ble)
            self._tags[member.tag] = member
            self._members[member.customer_id] = member

    def _remove(self, customer_id: str) -> None:
        member = self._members.pop(customer_id, None)
        if member is None:
            return
        member.generation += 1  # NB: invalidates its pending heap entries lazily
        for eid in member.eids:
            hit = self._eids.get(eid)
            if hit is not None and hit[0] is member:
                del self._eids[eid]
        if member.tag is not None and self._tags.get(member.tag) is member:
            del self._tags[member.tag]
        for address in [a for a, (m, _) in self._addresses.items() if m is member]:
            del self._addresses[address]

    # --- the table -------------------------------------------------------------------------

    def _refresh(self, member: Member, now: float) -> tuple[float, int, str, int]:
        """Re-centres the member's entries on the current window; returns its next boundary."""
        key = member.key
        assert key is not None  # only EID members are refreshed
        k, offset = key.rotation_exponent, key.clock_offset
        window = ((int(now) - offset) & 0xFFFFFFFF) >> k
        table = self._eids
        for eid in member.eids:
            hit = table.get(eid)
            if hit is not None and hit[0] is member:
                del table[eid]
        low, mid, high = neighbour_eids(self._aes, key.identity_key, k, window)
        table[low] = (member, window - 1)
        table[mid] = (member, window)
        table[high] = (member, window + 1)
        member.eids, member.window = [low, mid, high], window
        self._seq += 1
        return (
            float(((window + 1) << k) + offset),
            self._seq,
            member.customer_id,
            member.generation,
        )

    def maintain(self, now: float) -> int:
        """Refresh members whose window rolled over (at most the budget); returns how many."""
        done = 0
        due = self._due
        while due and due[0][0] <= now and done < self._budget:
            _, _, customer_id, generation = heapq.heappop(due)
            member = self._members.get(customer_id)
            if member is None or member.generation != generation:
                continue
            if not member.consent.current(now):
                self._remove(customer_id)
                self.counters["recognition.consent_lapsed"] += 1
                continue
            heapq.heappush(due, self._refresh(member, now))
            done += 1
        if now - self._last_sweep >= ADDRESS_IDLE_S / 4:
            self._sweep_addresses(now)
        return done

    def _sweep_addresses(self, now: float) -> None:
        self._last_sweep = now
        stale = [a for a, (_, seen) in self._addresses.items() if now - seen > ADDRESS_IDLE_S]
        for address in stale:
            del self._addresses[address]

    @property
    def table_size(self) -> int:
        return len(self._eids)

    @property
    def pending_refresh(self) -> int:
        return len(self._due)

    # --- resolving -------------------------------------------------------------------------

    def resolve(self, record: AdvertRecord, now: float) -> str | None:
        """The consenting member behind this advertisement, judged at ``now``.

        NB: one method, not a lookup and a check: it runs for every advertisement heard.
        """
        member: Member | None = None
        service = record.service_data
        if service:
            payload = service.get(EDDYSTONE_UUID)
            # NB: adverts.eid_payload and the EID lookup, inline (the hot path of a replay)
            if isinstance(payload, bytes) and len(payload) == 10 and payload[0] == FRAME_EID:
                hit = self._eids.get(payload[2:10])
                if hit is None:
                    # NB: a known address now showing an unknown EID is someone else's identity.
                    self._addresses.pop(record.address, None)
                    return None
                member, window = hit
                key = member.key
                assert key is not None
                # NB: eid.beacon_time, inline
                current = ((int(now) - key.clock_offset) & 0xFFFFFFFF) >> key.rotation_exponent
                if not -1 <= window - current <= 1:
                    self.counters["recognition.eid_stale"] += 1
                    return None
        if member is None:
            manufacturer = record.manufacturer_data
            key_bytes = None
            if manufacturer and self._tags:
                key_bytes = ibeacon_key(manufacturer.get(APPLE_COMPANY_ID))
            if key_bytes is not None:
                member = self._tags.get(key_bytes)
            else:
                cached = self._addresses.get(record.address)
                if cached is None or not now - cached[1] <= ADDRESS_IDLE_S:
                    return None
                member = cached[0]
            if member is None:
                return None
        if not member.consent.current(now):
            self.counters["recognition.consent_lapsed"] += 1
            return None
        self._addresses[record.address] = (member, now)
        return member.customer_id
