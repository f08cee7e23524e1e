"""MQTT 5 PUBLISH properties for CloudEvents, encoded once, straight to bytes.

NB: paho's ``Properties`` builds name tables in ``__init__`` and walks them in
``pack()``; for one publish per event that was most of the link's CPU time. The
encoding is small and fixed (MQTT 5.0 section 3.3.2.3), so we write it here and
hand paho an object whose ``pack()`` returns the bytes. paho calls ``pack()``
again when it resends, which returns the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Final

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

_PAYLOAD_FORMAT: Final = 0x01
_CONTENT_TYPE: Final = 0x03
_USER_PROPERTY: Final = 0x26
MAX_STRING: Final = 65_535


def _utf8(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > MAX_STRING:
        raise ValueError("MQTT string longer than 65535 bytes")
    return len(data).to_bytes(2, "big") + data


def varint(value: int) -> bytes:
    """MQTT variable byte integer."""
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


class PackedProperties(Properties):
    """Already-encoded PUBLISH properties (length prefix included)."""

    _packed: bytes

    def __init__(self, packed: bytes) -> None:  # NB: paho's __init__ is what we avoid
        # NB: paho's __setattr__ only accepts property names; these are ours
        object.__setattr__(self, "packetType", PacketTypes.PUBLISH)
        object.__setattr__(self, "_packed", packed)

    def pack(self) -> bytes:
        return self._packed

    def __str__(self) -> str:
        return f"[{len(self._packed)} bytes of properties]"

    __repr__ = __str__


def publish_properties(content_type: str, user: Iterable[tuple[str, str]]) -> PackedProperties:
    """Payload format UTF-8, the content type, and the user properties, in order."""
    body = bytearray((_PAYLOAD_FORMAT, 1, _CONTENT_TYPE))
    body += _utf8(content_type)
    for key, value in user:
        body.append(_USER_PROPERTY)
        body += _utf8(key)
        body += _utf8(value)
    return PackedProperties(varint(len(body)) + bytes(body))


# NB: Event.seal writes the attributes first, in this order, with no escapes in
# them (UUIDs, config ids, type names, times, digits), so a prefix match is an
# exact parse; anything else falls back to the JSON decoder.
_SEALED_PREFIX: Final = re.compile(
    rb'^\{"specversion":"1\.0","id":"([^"\\]{1,64})","source":"([^"\\]{1,200})",'
    rb'"type":"([^"\\]{1,100})","time":"([^"\\]{1,40})","sequence":"([0-9]{1,20})",'
    rb'"datacontenttype":"application/json",'
)
_CE_KEYS: Final = ("specversion", "id", "source", "type", "time", "sequence", "datacontenttype")


def cloudevent_attributes(payload: bytes) -> list[tuple[str, str]] | None:
    """The CloudEvents attributes of a sealed event, in order; None if not a CloudEvent."""
    match = _SEALED_PREFIX.match(payload)
    if match is not None:
        event_id, source, kind, at, sequence = (g.decode() for g in match.groups())
        return [
            ("specversion", "1.0"),
            ("id", event_id),
            ("source", source),
            ("type", kind),
            ("time", at),
            ("sequence", sequence),
            ("datacontenttype", "application/json"),
        ]
    try:
        event = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return None
    return [(k, str(event[k])) for k in _CE_KEYS if k in event]


def _lp(data: bytes) -> bytes:
    """A length-prefixed MQTT string from already-encoded UTF-8."""
    return len(data).to_bytes(2, "big") + data


class CloudEventProperties:
    """Topic suffix and PUBLISH properties of a sealed event, the constant parts done once."""

    def __init__(self, content_type: str = "application/cloudevents+json") -> None:
        self._head = bytes((_PAYLOAD_FORMAT, 1, _CONTENT_TYPE)) + _utf8(content_type)
        self._spec = bytes((_USER_PROPERTY,)) + _lp(b"specversion") + _lp(b"1.0")
        self._dct = bytes((_USER_PROPERTY,)) + _lp(b"datacontenttype") + _lp(b"application/json")
        self._id = bytes((_USER_PROPERTY,)) + _lp(b"id")
        self._time = bytes((_USER_PROPERTY,)) + _lp(b"time")
        self._seq = bytes((_USER_PROPERTY,)) + _lp(b"sequence")
        self._sources: dict[bytes, bytes] = {}
        self._types: dict[bytes, tuple[str, bytes]] = {}

    def for_payload(self, payload: bytes) -> tuple[str, PackedProperties] | None:
        """``(type, properties)`` for a sealed event; None if it is not a CloudEvent."""
        match = _SEALED_PREFIX.match(payload)
        if match is None:
            attributes = cloudevent_attributes(payload)
            if attributes is None:
                return None
            name = next(v for k, v in attributes if k == "type")
            return name, self.encode(attributes)
        event_id, source, kind, at, sequence = match.groups()
        source_pair = self._sources.get(source)
        if source_pair is None:
            source_pair = bytes((_USER_PROPERTY,)) + _lp(b"source") + _lp(source)
            if len(self._sources) < 16:
                self._sources[source] = source_pair
        typed = self._types.get(kind)
        if typed is None:
            typed = (kind.decode(), bytes((_USER_PROPERTY,)) + _lp(b"type") + _lp(kind))
            if len(self._types) < 256:
                self._types[kind] = typed
        body = b"".join(
            (
                self._head,
                self._spec,
                self._id,
                _lp(event_id),
                source_pair,
                typed[1],
                self._time,
                _lp(at),
                self._seq,
                _lp(sequence),
                self._dct,
            )
        )
        return typed[0], PackedProperties(varint(len(body)) + body)

    def encode(self, attributes: list[tuple[str, str]]) -> PackedProperties:
        """Any attribute list, in order (the slow path)."""
        body = self._head + b"".join(
            bytes((_USER_PROPERTY,)) + _utf8(k) + _utf8(v) for k, v in attributes
        )
        return PackedProperties(varint(len(body)) + body)
