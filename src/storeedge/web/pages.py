"""Helpers shared by the page blueprints: language choice and page data for the scripts."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from storeedge.web.assets import LANGUAGES
from storeedge.web.context import WebContext


def page_language(default: str) -> str:
    """``?lang=en`` wins, then the screen's configured language, then French."""
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        return asked
    return default if default in LANGUAGES else LANGUAGES[0]


def render_page(ctx: WebContext, template: str, language: str, **values: Any) -> str:
    return render_template(
        template,
        lang=language,
        t=ctx.catalogs[language],
        catalogs=ctx.catalogs,
        store_name=ctx.store_name,
        **values,
    )


def current_sid() -> str:
    """The Socket.IO session id of the event being handled."""
    sid = getattr(request, "sid", None)  # NB: Flask-SocketIO sets it on the request
    if not isinstance(sid, str):
        raise TypeError("no Socket.IO session id: not inside a Socket.IO handler")
    return sid
