"""Where the front-end lives (``kiosk_ui``) and its translations.

The folder sits at the top of the repository (an editable install, a checkout)
and inside the package in a wheel (``storeedge/kiosk_ui``, force-included by
pyproject). The wheel location wins when both exist.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import storeedge

LANGUAGES: Final = ("fr", "en")

Catalog = dict[str, str]


class AssetError(RuntimeError):
    """The front-end files are missing or broken: an installation problem."""


def kiosk_ui_dir() -> Path:
    package = Path(storeedge.__file__).resolve().parent
    candidates = (package / "kiosk_ui", package.parents[1] / "kiosk_ui")
    for candidate in candidates:
        if (candidate / "templates").is_dir():
            return candidate
    searched = ", ".join(str(c) for c in candidates)
    raise AssetError(f"kiosk_ui not found (searched {searched}): reinstall storeedge")


def load_catalogs(ui_dir: Path) -> dict[str, Catalog]:
    """Read ``i18n/<lang>.json`` for every language; all must carry the same keys."""
    catalogs = {lang: _load_catalog(ui_dir / "i18n" / f"{lang}.json") for lang in LANGUAGES}
    reference = set(catalogs[LANGUAGES[0]])
    for lang, catalog in catalogs.items():
        if set(catalog) != reference:
            missing = sorted(reference.symmetric_difference(catalog))
            raise AssetError(f"i18n/{lang}.json: keys differ from fr.json: {', '.join(missing)}")
    return catalogs


def _load_catalog(path: Path) -> Catalog:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AssetError(f"{path}: cannot read translations: {exc}") from None
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise AssetError(f"{path}: expected an object of strings")
    return raw
