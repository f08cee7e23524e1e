"""The event envelope, ids, wire time, EID vectors and profile validation (CONTRACTS 2, 3)."""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storeedge.adapters.crypto import aes128_ecb
from storeedge.core.eid import compute_eid
from storeedge.core.events import EventFactory, Lane, UuidV7, format_sequence
from storeedge.core.profiles import EidKey, ProfileError, parse_profile
from storeedge.core.timefmt import format_time, parse_time

SOURCE = "/stores/store-042/edges/edge-1"


def test_envelope_is_structured_cloudevent() -> None:
    event = EventFactory().make(
        "storeedge.customer.arrived",
        {"customer_id": "C-000123", "visit_id": "v", "zone": "entrance", "via": "ble"},
        1763906709.1239,
    )
    body = json.loads(event.seal(SOURCE, 42))
    assert body["specversion"] == "1.0"
    assert body["source"] == SOURCE
    assert body["type"] == "storeedge.customer.arrived"
    assert body["time"] == "2025-11-23T14:05:09.123Z"
    assert body["sequence"] == "00000000000000000042"
    assert body["datacontenttype"] == "application/json"
    assert body["data"]["via"] == "ble"
    assert uuid.UUID(body["id"]).version == 7
    assert event.seal(SOURCE, 42) == event.seal(SOURCE, 42)  # redelivery: same bytes
    assert event.lane is Lane.PRESENCE
    assert event.short_type == "customer.arrived"


def test_missing_required_data_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks visit_id"):
        EventFactory().make("storeedge.customer.arrived", {"customer_id": "C-1"}, 0.0)
    with pytest.raises(ValueError, match="unknown event type"):
        EventFactory().make("storeedge.nope", {}, 0.0)


def test_sequence_is_twenty_digits() -> None:
    assert format_sequence(1) == "00000000000000000001"
    with pytest.raises(ValueError):
        format_sequence(0)


def test_uuid7_ids_increase_even_within_one_millisecond() -> None:
    ids = UuidV7()
    made = [ids.new(1763906709.5) for _ in range(5000)] + [ids.new(1763906709.4)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(uuid.UUID(i).variant == uuid.RFC_4122 for i in made[:10])


@settings(max_examples=300, derandomize=True)
@given(st.floats(min_value=0, max_value=4102444800, allow_nan=False))
def test_wire_time_round_trips_to_the_millisecond(t: float) -> None:
    text = format_time(t)
    assert text.endswith("Z")
    assert len(text) == 24
    assert abs(parse_time(text) - t) < 0.0011


@pytest.mark.parametrize(
    "bad", ["", "2026-13-01T00:00:00Z", "yesterday", "2026-11-23 14:05", "x" * 99]
)
def test_bad_times_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_time(bad)


def test_eid_matches_the_contract_vectors() -> None:
    key = bytes(range(16))
    assert compute_eid(aes128_ecb, key, 10, 0).hex() == "df8e76bbfec4efc5"
    assert compute_eid(aes128_ecb, key, 10, 1024).hex() == "f7a6081d867e3474"
    # inside one window the EID does not change
    assert compute_eid(aes128_ecb, key, 10, 1023).hex() == "df8e76bbfec4efc5"


def test_profile_parses_jean(jean_profile: dict[str, Any]) -> None:
    profile = parse_profile(jean_profile)
    assert profile.customer_id == "C-000123"
    assert isinstance(profile.ble, EidKey)
    assert profile.ble.rotation_exponent == 10
    assert profile.consent.current(1763906709.0)
    assert [o.order_id for o in profile.ready_pickups()] == ["O-98121"]


def test_expired_consent_is_not_current(jean_profile: dict[str, Any]) -> None:
    jean_profile["consent"]["expires_at"] = "2026-01-01T00:00:00.000Z"
    profile = parse_profile(jean_profile)
    assert not profile.consent.current(parse_time("2026-01-01T00:00:00.000Z"))
    assert profile.consent.current(parse_time("2025-12-31T23:59:59.000Z"))


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("customer_id",), "c 1", "customer_id"),
        (("ble", "identity_key"), "zz", "ble.identity_key"),
        (("ble", "rotation_exponent"), 16, "ble.rotation_exponent"),
        (("ble", "kind"), "wifi", "ble.kind"),
        (("qr", "totp_secret"), "!!!!!!!!!!!!!!!!", "qr.totp_secret"),
        (("consent", "recognition"), "yes", "consent.recognition"),
        (("consent", "expires_at"), "soon", "consent.expires_at"),
        (("loyalty", "points"), -1, "loyalty.points"),
        (("wishlist",), [{"sku": ""}], "wishlist[0].sku"),
    ],
)
def test_bad_profiles_are_rejected_with_a_reason(
    jean_profile: dict[str, Any], path: tuple[str, ...], value: object, reason: str
) -> None:
    target = jean_profile
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ProfileError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_profile(jean_profile)


@settings(max_examples=400, derandomize=True)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
        ),
        max_leaves=30,
    )
)
def test_profile_parser_never_raises_anything_but_profile_error(raw: object) -> None:
    with contextlib.suppress(ProfileError):
        parse_profile(raw)


@settings(max_examples=300, derandomize=True)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "customer_id",
                "consent",
                "ble",
                "qr",
                "loyalty",
                "cart",
                "orders",
                "wishlist",
                "vip",
                "language",
            ]
        ),
        st.none()
        | st.integers()
        | st.text(max_size=8)
        | st.lists(st.integers(), max_size=3)
        | st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
        max_size=10,
    )
)
def test_profile_parser_fuzzed_on_known_keys(raw: dict[str, Any]) -> None:
    with contextlib.suppress(ProfileError):
        parse_profile(raw)
