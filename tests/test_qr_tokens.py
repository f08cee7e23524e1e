"""Member and pickup QR codes: RFC 6238, one step of skew, accepted once, hostile input."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storeedge.core.profiles import CustomerProfile, parse_profile
from storeedge.core.qr import QrVerifier, hotp, parse_qr, totp

NOW = 1763906709.0


def test_rfc4226_and_rfc6238_vectors() -> None:
    secret = b"12345678901234567890"
    assert [hotp(secret, c, 6) for c in range(3)] == ["755224", "287082", "359152"]
    assert totp(secret, 59, 30, 8) == "94287082"
    assert totp(secret, 1111111109, 30, 8) == "07081804"


@pytest.fixture
def profiles(jean_profile: dict[str, Any]) -> dict[str, CustomerProfile]:
    profile = parse_profile(jean_profile)
    return {profile.customer_id: profile}


def code_for(jean_profile: dict[str, Any], at: float) -> str:
    secret = base64.b32decode(jean_profile["qr"]["totp_secret"])
    return totp(secret, at, 30, 8)


def test_member_card_is_accepted_once(
    jean_profile: dict[str, Any], profiles: dict[str, CustomerProfile]
) -> None:
    verifier = QrVerifier()
    text = f"SE1:M:C-000123:{code_for(jean_profile, NOW)}"
    first = verifier.verify(text, profiles, NOW)
    assert first.ok
    assert first.customer_id == "C-000123"
    again = verifier.verify(text, profiles, NOW + 1)
    assert again.reason == "already_used"


@pytest.mark.parametrize(("offset", "ok"), [(-30, True), (30, True), (-61, False), (61, False)])
def test_one_step_of_skew(
    jean_profile: dict[str, Any], profiles: dict[str, CustomerProfile], offset: int, ok: bool
) -> None:
    text = f"SE1:M:C-000123:{code_for(jean_profile, NOW + offset)}"
    assert QrVerifier().verify(text, profiles, NOW).ok is ok


def test_pickup_code_uses_the_owners_secret(
    jean_profile: dict[str, Any], profiles: dict[str, CustomerProfile]
) -> None:
    result = QrVerifier().verify(f"SE1:P:O-98121:{code_for(jean_profile, NOW)}", profiles, NOW)
    assert result.ok
    assert (result.customer_id, result.order_id) == ("C-000123", "O-98121")


def test_no_consent_no_recognition(jean_profile: dict[str, Any]) -> None:
    jean_profile["consent"]["recognition"] = False
    profile = parse_profile(jean_profile)
    text = f"SE1:M:C-000123:{code_for(jean_profile, NOW)}"
    assert QrVerifier().verify(text, {profile.customer_id: profile}, NOW).reason == "no_consent"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("SE1:M:C-000999:12345678", "unknown_id"),
        ("SE1:M:C-000123:1234", "malformed"),
        ("SE1:X:C-000123:12345678", "malformed"),
        ("hello", "malformed"),
        ("SE1:M:C-000123:" + "1" * 200, "too_long"),
        ("SE1:M:C-000123:123456", "wrong_length"),
        ("SE1:M:C-000123:00000000", "bad_code"),
    ],
)
def test_rejections_have_reasons(
    profiles: dict[str, CustomerProfile], text: str, reason: str
) -> None:
    assert QrVerifier().verify(text, profiles, NOW).reason == reason


def test_scanner_noise_is_tolerated(
    jean_profile: dict[str, Any], profiles: dict[str, CustomerProfile]
) -> None:
    text = f"  se1:m:c-000123:{code_for(jean_profile, NOW)}\r\n"
    assert QrVerifier().verify(text, profiles, NOW).ok


@settings(max_examples=500, derandomize=True)
@given(st.text(max_size=120))
def test_parser_never_raises(text: str) -> None:
    result = parse_qr(text)
    assert isinstance(result, str) or result.kind in ("member", "pickup")
