"""Configuration: typed settings, one-line errors naming file, key and expectation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from storeedge.config import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "store.toml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
[store]
id = "store-042"
edge_id = "edge-1"
[data]
dir = "{data}"
"""


def test_example_config_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).parents[1] / "config" / "example-store.toml"
    text = example.read_text(encoding="utf-8").replace("/var/lib/storeedge", str(tmp_path / "d"))
    settings = load_settings(write(tmp_path, text))
    assert settings.store.id == "store-042"
    assert settings.mqtt.tls is True
    roles = [s.role for s in settings.scanners]
    assert roles == ["entrance", "entrance", "kiosk"]  # NB: the door pair, on a four-port Pi
    assert len({s.adapter for s in settings.scanners}) == len(settings.scanners)
    assert not any((s.adapter or "").startswith("hci") for s in settings.scanners)  # stable names
    assert settings.kiosks[0].zone == "kiosk"
    assert settings.source_uri == "/stores/store-042/edges/edge-1"


def test_defaults_are_safe(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL.format(data=tmp_path / "data")))
    assert settings.mqtt.tls is True
    assert settings.mqtt.port == 8883
    assert (tmp_path / "data").is_dir()  # created when missing


def test_plaintext_needs_saying_and_changes_default_port(tmp_path: Path) -> None:
    base = MINIMAL.format(data=tmp_path / "data")
    unsaid = load_settings(write(tmp_path, base + '[mqtt]\nhost = "broker"\n'))
    assert (unsaid.mqtt.tls, unsaid.mqtt.port) == (True, 8883)  # TLS unless written otherwise
    plain = load_settings(write(tmp_path, base + "[mqtt]\ntls = false\n"))
    assert (plain.mqtt.tls, plain.mqtt.port) == (False, 1883)  # the plaintext default port
    explicit = load_settings(write(tmp_path, base + "[mqtt]\ntls = false\nport = 2883\n"))
    assert explicit.mqtt.port == 2883


def test_alerts_escalation_delay_is_bounded(tmp_path: Path) -> None:
    base = MINIMAL.format(data=tmp_path / "data")
    assert load_settings(write(tmp_path, base)).alerts.escalate_after_s == 120.0
    tuned = load_settings(write(tmp_path, base + "[alerts]\nescalate_after_s = 30\n"))
    assert tuned.alerts.escalate_after_s == 30.0
    with pytest.raises(ConfigError, match=r"alerts\.escalate_after_s: expected a number from 10"):
        load_settings(write(tmp_path, base + "[alerts]\nescalate_after_s = 5\n"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[[scanners]]\nid = "a"\nzone = "z"\nrole = "door"\n',
            "store.toml: scanners[0].role: expected one of entrance, floor, kiosk, counter; "
            'got "door"',
        ),
        (
            '[mqtt]\nport = "1883"\n',
            'store.toml: mqtt.port: expected an integer; got "1883"',
        ),
        ('[mqtt]\nhots = "x"\n', "store.toml: mqtt.hots: unknown key"),
        ('[mqtt]\npassword = "hunter2"\n', "store.toml: mqtt.password: the password never"),
        (
            '[[scanners]]\nid = "a"\nzone = "z"\nrole = "floor"\nposition = [1]\n',
            "store.toml: scanners[0].position: expected [x, y] in metres; got an array",
        ),
        (
            '[[scanners]]\nid = "a"\nzone = "z"\nrole = "floor"\n'
            '[[scanners]]\nid = "a"\nzone = "y"\nrole = "floor"\n',
            'store.toml: scanners[1].id: duplicate scanner id "a"',
        ),
        ('[mqtt]\ntls = "yes"\n', 'store.toml: mqtt.tls: expected true or false; got "yes"'),
        ("colour = 1\n", "store.toml: colour: unknown key"),
    ],
)
def test_errors_name_file_key_and_expectation(tmp_path: Path, extra: str, message: str) -> None:
    text = MINIMAL.format(data=tmp_path / "data") + extra
    # a stray top-level key must come before the first table to stay top-level
    if extra.startswith("colour"):
        text = extra + text
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_missing_required_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"store.toml: store.edge_id: missing \(required\)"):
        load_settings(write(tmp_path, '[store]\nid = "s"\n[data]\ndir = "d"\n'))


def test_broken_toml_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^store.toml: not valid TOML"):
        load_settings(write(tmp_path, "[store\n"))


def test_secrets_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREEDGE_MQTT_PASSWORD", "s3cret")
    settings = load_settings(write(tmp_path, MINIMAL.format(data=tmp_path / "data")))
    assert settings.mqtt.password == "s3cret"
    assert "s3cret" not in repr(settings)


def test_cli_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL.format(data=tmp_path / "data")
        + '[[scanners]]\nid = "a"\nzone = "z"\nrole = "door"\n',
    )
    done = subprocess.run(
        [sys.executable, "-m", "storeedge", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "storeedge: store.toml: scanners[0].role: expected one of entrance, floor, kiosk, "
        'counter; got "door"'
    ]
    assert "Traceback" not in done.stderr
