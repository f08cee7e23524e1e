"""Shared fixtures: a real mosquitto on a free loopback port, settings, profiles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storeedge.adapters.broker import PrivateMosquitto, find_mosquitto
from storeedge.config import Settings, load_settings
from storeedge.simulators import demo_data

JEAN = demo_data.JEAN

BASE_TOML = """
[store]
id = "store-042"
edge_id = "edge-1"
door = [10.0, 0.0]

[mqtt]
host = "127.0.0.1"
port = {port}
tls = false

[data]
dir = "{data}"

[[scanners]]
id = "entrance"
zone = "entrance"
role = "entrance"
position = [10.0, 1.5]

[[scanners]]
id = "floor"
zone = "floor"
role = "floor"
position = [8.0, 9.0]

[[scanners]]
id = "kiosk"
zone = "kiosk"
role = "kiosk"
position = [3.0, 6.0]

[[kiosks]]
id = "kiosk-1"
zone = "kiosk"
"""


@pytest.fixture
def jean_profile() -> dict[str, Any]:
    import copy

    return copy.deepcopy(JEAN)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Writes a small-store config (plaintext MQTT on ``port``) and loads it."""

    def make(port: int = 1883, extra: str = "") -> Settings:
        path = tmp_path / "store.toml"
        path.write_text(
            BASE_TOML.format(port=port, data=tmp_path / "data") + extra, encoding="utf-8"
        )
        return load_settings(path)

    return make


@pytest.fixture
def mosquitto() -> Iterator[PrivateMosquitto]:
    """A real broker for this test. Missing mosquitto is a failure, not a skip."""
    if find_mosquitto() is None:
        pytest.fail("mosquitto is not installed: run `make test`, which installs it")
    broker = PrivateMosquitto()
    broker.start()
    try:
        yield broker
    finally:
        broker.close()
