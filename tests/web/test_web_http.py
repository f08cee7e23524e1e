"""HTTP routes: kiosk and staff pages, health, and bad input answered with a clear 4xx."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from webharness import Stack

from storeedge.config import Settings
from storeedge.web.assets import LANGUAGES, kiosk_ui_dir, load_catalogs


def page_config(html: str, element_id: str) -> dict[str, Any]:
    marker = f'<script type="application/json" id="{element_id}">'
    start = html.index(marker) + len(marker)
    loaded: dict[str, Any] = json.loads(html[start : html.index("</script>", start)])
    return loaded


def test_home_is_the_enrolled_kiosk_in_french(stack: Stack) -> None:
    response = stack.enrolled_client("kiosk-1").get("/")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert "Scannez votre carte membre" in html
    assert page_config(html, "kiosk-config") == {
        "kiosk_id": "kiosk-1",
        "language": "fr",
        "idle_s": 60.0,
        "namespace": "/kiosk",
    }


def test_kiosk_page_by_id_uses_its_language_and_lang_override(stack: Stack) -> None:
    client = stack.enrolled_client("kiosk-2")

    english = client.get("/kiosk/kiosk-2").get_data(as_text=True)
    assert "Scan your member card" in english
    forced = client.get("/kiosk/kiosk-2?lang=fr").get_data(as_text=True)
    assert "Scannez votre carte membre" in forced
    ignored = client.get("/kiosk/kiosk-2?lang=xx")
    assert ignored.status_code == 200


@pytest.mark.parametrize("path", ["/kiosk/kiosk-9", "/kiosk/%3Cscript%3E", "/kiosk/", "/nope"])
def test_unknown_pages_are_404(stack: Stack, path: str) -> None:
    response = stack.web.app.test_client().get(path)

    assert response.status_code == 404
    assert "<script>" not in response.get_data(as_text=True)


def test_no_kiosk_configured_page(web_settings: Settings, make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(dataclasses.replace(web_settings, kiosks=()))

    response = stack.web.app.test_client().get("/")

    assert response.status_code == 200
    assert "Aucune borne n&#39;est configurée" in response.get_data(as_text=True)


def test_staff_page_without_pin_says_so(stack: Stack) -> None:
    response = stack.web.app.test_client().get("/staff?lang=en")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="no-pin-banner"' in html
    assert "not protected by a PIN" in html
    assert "staff_pin_hash" not in html  # speak to staff; the config key is for docs and doctor
    assert page_config(html, "staff-config") == {
        "namespace": "/staff",
        "pin_required": False,
        "staff": None,
    }


def test_healthz(stack: Stack) -> None:
    client = stack.web.app.test_client()  # NB: from loopback: the detailed body

    ok = client.get("/healthz")
    assert ok.status_code == 200
    body = ok.get_json()
    assert body["status"] == "ok"
    assert body["store"] == "store-042"
    assert body["kiosks"] == ["kiosk-1", "kiosk-2"]
    assert body["staff_pin"] == "not set"

    stack.core.stop()
    down = client.get("/healthz")
    assert down.status_code == 503
    assert down.get_json()["core"] == "stalled"


def test_bad_requests_get_clear_4xx(stack: Stack) -> None:
    client = stack.web.app.test_client()

    assert client.post("/healthz").status_code == 405
    assert client.delete("/staff").status_code == 405
    foreign = client.post("/staff/logout", headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403


def test_security_headers(stack: Stack) -> None:
    response = stack.enrolled_client().get("/")

    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_static_assets_are_served(stack: Stack) -> None:
    client = stack.web.app.test_client()
    for path in (
        "/static/js/sio.js",
        "/static/vendor/socket.io.esm.min.js",
        "/static/js/kiosk.js",
        "/static/css/kiosk.css",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()


def test_catalogs_have_the_same_keys_in_every_language() -> None:
    ui_dir = kiosk_ui_dir()
    catalogs = load_catalogs(ui_dir)

    assert set(catalogs) == set(LANGUAGES)
    assert set(catalogs["fr"]) == set(catalogs["en"])
    assert ui_dir == Path(__file__).resolve().parents[2] / "kiosk_ui"


def test_the_front_end_loads_nothing_from_elsewhere() -> None:
    ui_dir = kiosk_ui_dir()
    own = [*(ui_dir / "templates").rglob("*"), *(ui_dir / "static" / "js").rglob("*")]
    own += (ui_dir / "static" / "css").rglob("*")
    # NB: static/vendor holds the npm packages' own files, copied from the registry.
    for path in own:
        if path.suffix in {".html", ".js", ".css"}:
            text = path.read_text(encoding="utf-8")
            assert "//cdn" not in text, path
            assert "https://" not in text, path
