"""Enrolled kiosks: a kiosk screen proves it is that kiosk with a credential it keeps.

``storeedge kiosk-enrol --config PATH KIOSK_ID`` issues a one-time URL (valid 15
minutes); the browser that opens it gets a long-lived HttpOnly cookie naming the
kiosk and a random secret, and is sent to that kiosk's page. The kiosk pages and
the ``/kiosk`` Socket.IO namespace admit only a browser whose cookie matches a
credential on record. Being on loopback is not a credential.

How the command reaches the running service: through the data directory, not the
network. Both open ``kiosks.sqlite`` there (mode 0600; SQLite arbitrates between the
two processes); only its hashes of tokens and secrets are stored. The running
service writes ``web-service.json`` (its pid and the URL it serves) when its web
server starts and removes it when it stops; the command reads it to know that
``run`` is up and which URL to print. So whoever may enrol a kiosk is whoever may
write the service's data directory (root or the service user): no endpoint, port
or token is added for an attacker on the store network to try.

``storeedge kiosk-enrol --revoke`` deletes a kiosk's credentials; the service cuts
that kiosk's open sockets within ``SWEEP_S`` and its page then shows the
``not-enrolled`` screen.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import secrets
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from flask import Flask, after_this_request, current_app, redirect, request
from werkzeug.wrappers import Response

_LOGGER = logging.getLogger(__name__)

COOKIE: Final = "storeedge_kiosk"
COOKIE_MAX_AGE_S: Final = 400 * 86400  # NB: Chromium caps cookie lifetimes at 400 days
TOKEN_TTL_S: Final = 15 * 60.0
STORE_FILE: Final = "kiosks.sqlite"
SERVICE_FILE: Final = "web-service.json"
SWEEP_S: Final = 2.0
EXTENSION: Final = "storeedge.enrol"
EXIT_NOT_RUNNING: Final = 1
EXIT_CONFIG: Final = 2

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS tokens (
  digest TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS credentials (
  digest TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, enrolled_at REAL NOT NULL);
"""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Enrolments:
    """The credentials on record, in ``DATA/kiosks.sqlite`` (shared with the CLI)."""

    def __init__(self, data_dir: Path, wall: Callable[[], float] = time.time) -> None:
        self.path = data_dir / STORE_FILE
        self._wall = wall
        data_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # NB: created private, before SQLite opens it
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    def issue(self, kiosk_id: str) -> str:
        """A one-time enrolment token for ``kiosk_id``, valid ``TOKEN_TTL_S``."""
        token = secrets.token_urlsafe(24)
        now = self._wall()
        with self._db() as db:
            db.execute("DELETE FROM tokens WHERE expires_at < ?", (now,))
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?)", (_digest(token), kiosk_id, now + TOKEN_TTL_S)
            )
        return token

    def redeem(self, token: str) -> tuple[str, str] | None:
        """Spend a token: (kiosk id, new secret), or None if unknown, used or expired."""
        secret = secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "DELETE FROM tokens WHERE digest = ? RETURNING kiosk_id, expires_at",
                (_digest(token),),
            ).fetchone()
            if row is None or row[1] < self._wall():
                db.execute("COMMIT")
                return None
            db.execute(
                "INSERT INTO credentials VALUES (?, ?, ?)", (_digest(secret), row[0], self._wall())
            )
            db.execute("COMMIT")
        return str(row[0]), secret

    def verify(self, kiosk_id: str, secret: str) -> bool:
        with self._db() as db:
            row = db.execute(
                "SELECT kiosk_id FROM credentials WHERE digest = ?", (_digest(secret),)
            ).fetchone()
        return row is not None and row[0] == kiosk_id

    def revoke(self, kiosk_id: str) -> int:
        """Forget every credential (and pending token) of ``kiosk_id``; how many there were."""
        with self._db() as db:
            db.execute("DELETE FROM tokens WHERE kiosk_id = ?", (kiosk_id,))
            return db.execute("DELETE FROM credentials WHERE kiosk_id = ?", (kiosk_id,)).rowcount


class KioskGate:
    """The web side: cookie checks, the redeem route, and cutting revoked kiosk sockets."""

    def __init__(self, enrolments: Enrolments, kiosk_ids: frozenset[str]) -> None:
        self.enrolments = enrolments
        self.kiosk_ids = kiosk_ids
        self.secure = False  # set by the server when it serves HTTPS
        self._lock = threading.Lock()
        self._sockets: dict[str, tuple[str, str]] = {}
        # Set by the server: cut one /kiosk connection; is it still connected?
        self.disconnect: Callable[[str], None] = lambda _sid: None
        self.connected: Callable[[str], bool] = lambda _sid: True

    def credential(self) -> tuple[str, str] | None:
        """(kiosk id, secret) from this request's cookie, if it is a valid one."""
        kiosk_id, sep, secret = request.cookies.get(COOKIE, "").rpartition(".")
        if not sep or kiosk_id not in self.kiosk_ids or not secret or len(secret) > 64:
            return None
        return (kiosk_id, secret) if self.enrolments.verify(kiosk_id, secret) else None

    def set_cookie(self, response: Response, kiosk_id: str, secret: str) -> Response:
        response.set_cookie(
            COOKIE,
            f"{kiosk_id}.{secret}",
            max_age=COOKIE_MAX_AGE_S,
            httponly=True,
            secure=self.secure,
            samesite="Strict",
        )
        return response

    def track(self, sid: str, kiosk_id: str, secret: str) -> None:
        with self._lock:
            self._sockets[sid] = (kiosk_id, secret)

    def sweep(self) -> None:
        """Cut the kiosk sockets whose credential was revoked (called every ``SWEEP_S``)."""
        with self._lock:
            tracked = list(self._sockets.items())
        for sid, (kiosk_id, secret) in tracked:
            gone = not self.connected(sid)
            if not gone and self.enrolments.verify(kiosk_id, secret):
                continue
            with self._lock:
                self._sockets.pop(sid, None)
            if not gone:
                _LOGGER.warning("kiosk %s: credential revoked, screen disconnected", kiosk_id)
                self.disconnect(sid)


def install(app: Flask, data_dir: Path, kiosk_ids: frozenset[str]) -> KioskGate:
    gate = KioskGate(Enrolments(data_dir), kiosk_ids)
    app.extensions[EXTENSION] = gate
    app.add_url_rule("/enrol/<token>", "enrol", _redeem)
    return gate


def gate_of(app: Flask | None = None) -> KioskGate:
    gate = (app or current_app).extensions[EXTENSION]
    assert isinstance(gate, KioskGate)
    return gate


def enrolled_kiosk_id() -> str | None:
    """The kiosk this browser is enrolled as, if its credential is valid."""
    found = gate_of().credential()
    return None if found is None else found[0]


def require_enrolled_kiosk(kiosk_id: str) -> bool:
    """True when this request (a page or a Socket.IO connect) carries ``kiosk_id``'s
    credential. A page gets its cookie renewed; a socket is watched for revocation."""
    gate = gate_of()
    found = gate.credential()
    if found is None or found[0] != kiosk_id:
        _LOGGER.info("kiosk %s: refused a browser that is not enrolled as it", kiosk_id)
        return False
    sid = getattr(request, "sid", None)  # NB: set by Flask-SocketIO inside its handlers
    if isinstance(sid, str):
        gate.track(sid, *found)
    else:
        after_this_request(lambda response: gate.set_cookie(response, *found))
    return True


def _redeem(token: str) -> Response | tuple[str, int]:
    gate = gate_of()
    spent = gate.enrolments.redeem(token) if len(token) <= 64 else None
    if spent is None or spent[0] not in gate.kiosk_ids:
        _LOGGER.warning("kiosk enrolment link refused (unknown, used or expired)")
        return not_enrolled_page(None, "link")
    kiosk_id, secret = spent
    _LOGGER.info("kiosk %s enrolled a screen", kiosk_id)
    return gate.set_cookie(redirect(f"/kiosk/{kiosk_id}", code=303), kiosk_id, secret)


def not_enrolled_page(kiosk_id: str | None, reason: str = "missing") -> tuple[str, int]:
    """What a browser without the kiosk's credential sees (hook ``not-enrolled``)."""
    from storeedge.web.context import context_of
    from storeedge.web.pages import page_language, render_page

    ctx = context_of()
    settings = ctx.kiosk(kiosk_id) if kiosk_id else None
    language = page_language(settings.language if settings else "fr")
    return render_page(ctx, "not_enrolled.html", language, kiosk_id=kiosk_id, reason=reason), 403


# --- the service file and the command ------------------------------------------------------


def publish_service(data_dir: Path, url: str) -> None:
    """Tell ``kiosk-enrol`` that this process serves the screens, and where."""
    path = data_dir / SERVICE_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"pid": os.getpid(), "url": url}, out)
    tmp.replace(path)


def withdraw_service(data_dir: Path) -> None:
    path = data_dir / SERVICE_FILE
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def running_service(data_dir: Path) -> str | None:
    """The URL of the ``run`` serving this data directory, if it is alive."""
    try:
        info: Any = json.loads((data_dir / SERVICE_FILE).read_text(encoding="utf-8"))
        pid, url = int(info["pid"]), str(info["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except PermissionError:
        return url  # NB: alive, owned by another user
    except OSError:
        return None
    return url


def register(sub: Any) -> None:
    cmd = sub.add_parser(
        "kiosk-enrol",
        help="make a browser a kiosk's screen (prints a one-time URL)",
        description="While `storeedge run` is running, prints as its last line a one-time "
        "URL (valid 15 minutes): the browser that opens it becomes KIOSK_ID's screen. "
        "Run it as the service user (it writes the service's data directory).",
    )
    cmd.add_argument("--config", type=Path, required=True, help="TOML configuration file")
    cmd.add_argument("kiosk_id", metavar="KIOSK_ID", help="a kiosk id from [[kiosks]]")
    cmd.add_argument("--revoke", action="store_true", help="revoke KIOSK_ID's screens instead")
    cmd.add_argument("--host", default=None, help="host name to put in the URL")
    cmd.set_defaults(handler=_cmd_enrol)


def _say(line: str, err: bool = False) -> None:
    print(line, file=sys.stderr if err else sys.stdout, flush=True)  # the CLI's own output


def _cmd_enrol(args: argparse.Namespace) -> int:
    from storeedge.config import ConfigError, load_settings

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        _say(f"storeedge: {exc}", err=True)
        return EXIT_CONFIG
    if args.kiosk_id not in {k.id for k in settings.kiosks}:
        known = ", ".join(k.id for k in settings.kiosks) or "none"
        _say(f"storeedge: no kiosk {args.kiosk_id!r} in {args.config} (kiosks: {known})", True)
        return EXIT_CONFIG
    enrolments = Enrolments(settings.data.dir)
    if args.revoke:
        count = enrolments.revoke(args.kiosk_id)
        _say(f"kiosk {args.kiosk_id}: {count} screen credential(s) revoked")
        return 0
    url = running_service(settings.data.dir)
    if url is None:
        _say(
            f"storeedge: `storeedge run` is not running with data directory "
            f"{settings.data.dir}: start the service, then enrol",
            err=True,
        )
        return EXIT_NOT_RUNNING
    if args.host:
        scheme, _, rest = url.partition("://")
        port = rest.rpartition(":")[2]
        url = f"{scheme}://{args.host}:{port}"
    token = enrolments.issue(args.kiosk_id)
    _say(f"Open this URL once on kiosk {args.kiosk_id}'s screen within 15 minutes:")
    _say(f"{url}/enrol/{token}")
    return 0
