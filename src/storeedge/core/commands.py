"""Commands from central (CONTRACTS section 4): CloudEvents, validated whole.

Also the one JSON decoder for inbound payloads: bounded in size and depth,
strict about NaN and Infinity, so hostile bytes become a reason, not a crash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from storeedge.core.timefmt import parse_time

NAME: Final = re.compile(r"^[a-z][a-z0-9_\-]{0,31}(\.[a-z][a-z0-9_\-]{0,31}){0,3}$")
_ID: Final = re.compile(r"^[\x21-\x7e]{1,128}$")
MAX_DEPTH: Final = 32
CONFIG_COMMAND: Final = "config.set"
# NB: config versions are a counter central keeps per store. The bound keeps a forged
# push from parking the version where no real one can ever pass it (2**53 - 1 made
# every later push "stale"); 32 bits are plenty for a counter and fit any column.
MAX_CONFIG_VERSION: Final = 2**31 - 1


class InboundError(ValueError):
    """Why an inbound payload was rejected (a short, countable reason)."""


class CommandError(InboundError):
    """Why a command was rejected."""


def _reject_constant(name: str) -> Any:
    raise InboundError(f"json: {name} is not JSON")


def _depth(value: object, limit: int) -> int:
    """Nesting depth, without recursion (hostile payloads may nest deeply)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            return level
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def decode_payload(payload: bytes, limit: int) -> object:
    """UTF-8 JSON of at most ``limit`` bytes and :data:`MAX_DEPTH` levels, or InboundError."""
    if len(payload) > limit:
        raise InboundError(f"oversized: {len(payload)} bytes > {limit}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InboundError("not UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise InboundError("json: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise InboundError(f"json: {exc.msg}") from None
    if _depth(value, MAX_DEPTH) > MAX_DEPTH:
        raise InboundError("json: nested too deeply")
    return value


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    id: str
    source: str
    type: str
    time: float | None
    expires_at: float | None
    data: Mapping[str, Any]
    event: Mapping[str, Any]  # the whole CloudEvent, as received

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def _string(raw: Mapping[str, Any], key: str, limit: int) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise CommandError(f"{key}: expected a string of 1 to {limit} characters")
    return value


def _optional_time(raw: Mapping[str, Any], key: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CommandError(f"{key}: expected an RFC 3339 time")
    try:
        return parse_time(value)
    except ValueError:
        raise CommandError(f"{key}: expected an RFC 3339 time") from None


def parse_command(name: str, raw: object) -> Command:
    """Validates a command CloudEvent received on ``.../commands/{name}``."""
    if not NAME.match(name):
        raise CommandError("name: malformed")
    if not isinstance(raw, dict):
        raise CommandError("command: expected a CloudEvent object")
    if raw.get("specversion") != "1.0":
        raise CommandError("specversion: expected 1.0")
    command_id = _string(raw, "id", 128)
    if not _ID.match(command_id):
        raise CommandError("id: expected printable ASCII without spaces")
    data = raw.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CommandError("data: expected an object")
    return Command(
        name=name,
        id=command_id,
        source=_string(raw, "source", 256),
        type=_string(raw, "type", 128),
        time=_optional_time(raw, "time"),
        expires_at=_optional_time(raw, "expirytime"),
        data=data,
        event=raw,
    )


def parse_config(command: Command) -> tuple[int, dict[str, Any]]:
    """``config.set`` data: ``{"version": 1 .. MAX_CONFIG_VERSION, "settings": {...}}``."""
    version = command.data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise CommandError("data.version: expected an integer")
    if not 1 <= version <= MAX_CONFIG_VERSION:
        raise CommandError(f"data.version: out of range (1 to {MAX_CONFIG_VERSION})")
    settings = command.data.get("settings")
    if not isinstance(settings, dict):
        raise CommandError("data.settings: expected an object")
    return version, settings
