"""Wire time: UTC, RFC 3339 with milliseconds and ``Z`` (CONTRACTS, preamble)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Final

_RFC3339: Final = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|z|[+-]\d{2}:\d{2})$"
)


def format_time(unix_seconds: float) -> str:
    """``1763906709.1239`` -> ``"2025-11-23T14:05:09.123Z"`` (milliseconds truncated)."""
    millis = math.floor(unix_seconds * 1000)
    seconds, ms = divmod(millis, 1000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms:03d}Z"


def parse_time(text: str) -> float:
    """Parse an RFC 3339 timestamp into Unix seconds; raises ValueError with a reason."""
    if not isinstance(text, str) or len(text) > 40:
        raise ValueError("expected an RFC 3339 time string")
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text[:40]!r}")
    normalised = text[:19] + (match.group(7) or "") + match.group(8).upper().replace("Z", "+00:00")
    if match.group(7) and len(match.group(7)) > 7:  # fromisoformat takes at most microseconds
        normalised = text[:19] + match.group(7)[:7] + match.group(8).upper().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(normalised)
    except ValueError:
        raise ValueError(f"not a valid date or time: {text[:40]!r}") from None
    return parsed.timestamp()
