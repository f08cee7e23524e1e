"""Central's commands (CONTRACTS section 7), as the core acts on them.

The inbound adapter has already validated the CloudEvent envelope, deduplicated
it by ``id``, dropped it when past its ``expirytime`` and committed it; the desk
routes its ``data`` to the rule that owns the command and returns the answer that
goes back on the MQTT 5 response topic. A command nobody handles is answered
``unsupported``; a handler that raises answers ``rejected`` and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from storeedge.core.events import JSON

_LOGGER = logging.getLogger(__name__)

Status = Literal["ok", "rejected", "expired", "unsupported"]


@dataclass(frozen=True, slots=True)
class CommandReply:
    status: Status
    reason: str = ""

    def body(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {"status": self.status}
        if self.reason:
            out["reason"] = self.reason
        return out


OK: Final = CommandReply("ok")

# (data, now) -> reply; runs on the core thread.
CommandHandler = Callable[[Mapping[str, JSON], float], CommandReply]


class CommandDesk:
    def __init__(self) -> None:
        self._handlers: dict[str, CommandHandler] = {}

    def register(self, name: str, handler: CommandHandler) -> None:
        if name in self._handlers:
            raise ValueError(f"command {name} already has a handler")
        self._handlers[name] = handler

    def handle(self, name: str, data: object, at: float) -> CommandReply:
        handler = self._handlers.get(name)
        if handler is None:
            return CommandReply("unsupported", f"no handler for {name}")
        if not isinstance(data, Mapping):
            return CommandReply("rejected", "data: expected an object")
        try:
            return handler(data, at)
        except Exception:  # NB: a bug in one handler must answer, not kill the inbound thread
            _LOGGER.exception("command %s failed", name)
            return CommandReply("rejected", "internal error")
