"""The WSGI layer in front of the screens: what a request from the store network must be.

Runs before Flask and Engine.IO see anything:

- ``X-Forwarded-*`` and ``Forwarded`` are dropped, unless the request comes from the one
  configured ``web.trusted_proxy``; then werkzeug's ProxyFix applies them (one hop).
- The ``Host`` must be an IP literal, ``localhost``, this machine's name (``NAME`` or
  ``NAME.local``) or one of ``web.allowed_hosts``: a DNS-rebinding page on another
  name gets 400, so both Origin checks (which compare with Host) mean something.
- A WebSocket upgrade must be a well-formed RFC 6455 handshake (GET, version 13, a
  16-byte base64 key, ``Connection: upgrade``), or it gets 400.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable
from typing import Any, Final

from werkzeug.middleware.proxy_fix import ProxyFix

_LOGGER = logging.getLogger(__name__)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
Wsgi = Callable[[Environ, StartResponse], Iterable[bytes]]

WEBSOCKET_TIMEOUT_S: Final = 60.0  # > Engine.IO's ping interval + timeout (10 + 10 s)
_FORWARDED: Final = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_")


def host_name(header: str) -> str | None:
    """The name part of a Host header (lowercase, no port, IPv6 without brackets)."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1 :] if end > 0 else None
        if rest is None or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return value[1:end]
    name, sep, port = value.rpartition(":")
    if sep and port.isdigit():
        value = name
    return value or None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def default_host_names() -> tuple[str, ...]:
    """This machine's own names, which tablets may use without any configuration."""
    name = socket.gethostname().lower()
    return ("localhost", name, f"{name}.local")


class NetGuard:
    """WSGI middleware: forwarded headers, allowed Host names, strict WebSocket upgrades."""

    def __init__(
        self,
        app: Wsgi,
        allowed_hosts: Iterable[str],
        trusted_proxy: str | None = None,
    ) -> None:
        self._app = app
        # NB: behind ProxyFix the checks see the Host the proxy was asked for.
        self._proxied = ProxyFix(self._checked, x_for=1, x_proto=1, x_host=1)
        self._hosts = frozenset(n.lower() for n in (*default_host_names(), *allowed_hosts))
        self._proxy = trusted_proxy
        self.rejected: dict[str, int] = {"host": 0, "upgrade": 0}

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        from_proxy = self._proxy is not None and environ.get("REMOTE_ADDR") == self._proxy
        if not from_proxy:
            for key in [k for k in environ if k.startswith(_FORWARDED)]:
                del environ[key]
            return self._checked(environ, start_response)
        return self._proxied(environ, start_response)

    def _checked(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        name = host_name(str(environ.get("HTTP_HOST", "")))
        if name is None or not (name in self._hosts or _is_ip(name)):
            return self._refuse("host", "unknown host name", start_response)
        if str(environ.get("HTTP_UPGRADE", "")).lower() == "websocket":
            if not _good_upgrade(environ):
                return self._refuse("upgrade", "malformed WebSocket handshake", start_response)
            conn = environ.get("werkzeug.socket")
            if isinstance(conn, socket.socket):
                conn.settimeout(WEBSOCKET_TIMEOUT_S)
        return self._app(environ, start_response)

    def _refuse(self, kind: str, reason: str, start_response: StartResponse) -> list[bytes]:
        self.rejected[kind] += 1
        _LOGGER.debug("request refused: %s", reason)
        body = f"400 Bad Request: {reason}\n".encode()
        start_response(
            "400 Bad Request",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        return [body]


def _good_upgrade(environ: Environ) -> bool:
    if environ.get("REQUEST_METHOD") != "GET":
        return False
    if str(environ.get("HTTP_SEC_WEBSOCKET_VERSION", "")).strip() != "13":
        return False
    tokens = {t.strip().lower() for t in str(environ.get("HTTP_CONNECTION", "")).split(",")}
    if "upgrade" not in tokens:
        return False
    key = str(environ.get("HTTP_SEC_WEBSOCKET_KEY", "")).strip()
    try:
        return len(key) == 24 and len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False
