"""`storeedge doctor` in the field: TLS and login against a real broker, BlueZ, power."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from storeedge.config import load_settings
from storeedge.ops.checks import (
    Finding,
    check_bluez,
    check_broker,
    check_calibration,
    check_power,
    load_secrets,
    running_service_link,
)
from tests.ops.brokerkit import SecureMosquitto

TOML = """
[store]
id = "store-042"
edge_id = "edge-1"

[mqtt]
host = "{host}"
port = {port}
tls = {tls}
username = "store-042-edge-1"
{ca}

[data]
dir = "{data}"

[[scanners]]
id = "entrance"
zone = "entrance"
role = "entrance"
"""


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureMosquitto]:
    secure = SecureMosquitto(tmp_path_factory.mktemp("broker"), "store-042-edge-1", "s3cret")
    yield secure
    secure.close()


def findings(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    port: int,
    *,
    tls: bool = True,
    ca: Path | None = None,
    password: str = "s3cret",
    host: str = "127.0.0.1",
) -> list[Finding]:
    monkeypatch.setenv("STOREEDGE_MQTT_PASSWORD", password)
    config = tmp_path / "store.toml"
    config.write_text(
        TOML.format(
            host=host,
            port=port,
            tls=str(tls).lower(),
            ca=f'ca_file = "{ca}"' if ca else "",
            data=tmp_path / "data",
        ),
        encoding="utf-8",
    )
    return list(check_broker(load_settings(config), timeout=3.0))


def test_tls_and_login_accepted(
    broker: SecureMosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tls, login = findings(tmp_path, monkeypatch, broker.tls_port, ca=broker.ca)
    assert tls.level == "ok"
    assert "verified" in tls.what
    assert (login.level, login.what) == ("ok", "MQTT login as store-042-edge-1 accepted")


def test_wrong_password_is_a_refused_login_with_the_fix(
    broker: SecureMosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, login = findings(tmp_path, monkeypatch, broker.tls_port, ca=broker.ca, password="nope")
    assert login.level == "FAIL"
    assert "refused" in login.what
    assert "secrets.env" in login.fix


@pytest.mark.parametrize("content", [None, b"", b"not a certificate\n"])
def test_missing_or_empty_ca_file_is_one_line_not_a_traceback(
    broker: SecureMosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes | None
) -> None:
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_bytes(content)
    (finding,) = findings(tmp_path, monkeypatch, broker.tls_port, ca=ca)
    assert finding.level == "FAIL"
    assert str(ca) in finding.what
    assert "copy central's CA certificate" in finding.fix


def test_tls_to_the_plaintext_port_blames_the_port_not_the_ca(
    broker: SecureMosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (finding,) = findings(tmp_path, monkeypatch, broker.plain_port, ca=broker.ca)
    assert finding.level == "FAIL"
    assert "does not speak TLS" in finding.what
    assert "port" in finding.fix
    assert "ca_file" not in finding.fix


def test_untrusted_certificate_blames_the_ca(
    broker: SecureMosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (finding,) = findings(tmp_path, monkeypatch, broker.tls_port)  # system CAs only
    assert finding.level == "FAIL"
    assert "not trusted" in finding.what
    assert "ca_file" in finding.fix


def test_doctor_cli_reads_the_secrets_file_and_never_prints_a_traceback(
    broker: SecureMosquitto, tmp_path: Path
) -> None:
    config = tmp_path / "store.toml"
    config.write_text(
        TOML.format(host="127.0.0.1", port=broker.tls_port, tls="true",
                    ca=f'ca_file = "{broker.ca}"', data=tmp_path / "data"),
        encoding="utf-8",
    )  # fmt: skip
    secrets = tmp_path / "secrets.env"
    secrets.write_text("STOREEDGE_MQTT_PASSWORD='s3cret'\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "storeedge",
            "doctor",
            "--config",
            str(config),
            "--secrets",
            str(secrets),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert "MQTT login as store-042-edge-1 accepted" in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_secrets_file_values_are_read_like_systemd_does(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("# comment\nA='x$y'\nB=\"q\"\nC=plain\nnot a line\n")
    env: dict[str, str] = {"C": "kept"}
    assert load_secrets(path, env)
    assert env == {"A": "x$y", "B": "q", "C": "kept"}


def test_bluez_versions_and_passive_scanning(tmp_path: Path) -> None:
    conf = tmp_path / "main.conf"
    conf.write_text("[General]\nExperimental = true\n")
    assert next(check_bluez(lambda: "bluetoothctl: 5.66", conf)).level == "ok"
    assert "passive scanning off" in next(check_bluez(lambda: "5.66", tmp_path / "none")).what
    assert "needs 5.56" in next(check_bluez(lambda: "5.55", conf)).what
    assert next(check_bluez(lambda: None, conf)).level == "FAIL"


def test_pi_under_voltage_from_hwmon_or_firmware(tmp_path: Path) -> None:
    sensor = tmp_path / "hwmon3"
    sensor.mkdir()
    (sensor / "name").write_text("rpi_volt\n")
    (sensor / "in0_lcrit_alarm").write_text("1\n")
    assert next(check_power(tmp_path)).level == "FAIL"
    empty = tmp_path / "none"
    assert next(check_power(empty, lambda: "throttled=0x50000")).level == "warn"
    assert next(check_power(empty, lambda: "throttled=0x0")).level == "ok"
    assert list(check_power(empty, lambda: None)) == []  # not a Pi: nothing to say


def test_calibration_age(tmp_path: Path) -> None:
    class Presence:
        calibration_file = tmp_path / "calibration.json"

    class Settings:
        presence = Presence()

    assert next(check_calibration(Settings())).level == "FAIL"  # type: ignore[arg-type]
    Presence.calibration_file.write_text("{}")
    assert next(check_calibration(Settings())).level == "ok"  # type: ignore[arg-type]
    aged = next(check_calibration(Settings(), now=lambda: 1e12))  # type: ignore[arg-type]
    assert aged.level == "warn"


def test_with_the_service_running_doctor_reads_its_link_instead_of_logging_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from polling import wait_until

    from storeedge.adapters.broker import PrivateMosquitto
    from tests.ops.opskit import free_port, running_service, write_config

    broker = PrivateMosquitto()
    broker.start()
    try:
        port = free_port()
        config = write_config(tmp_path, web_port=port, mqtt_port=broker.port)
        settings = load_settings(config)
        with running_service(config, {}, tmp_path / "run.log"):

            def connected() -> bool:
                found = running_service_link(settings)
                return found is not None and found.level == "ok"

            assert wait_until(connected, 30, step=0.3), (tmp_path / "run.log").read_text()
            _, login = check_broker(settings)
            assert login.what == "MQTT login by the running service: connected"
            broker.close()
            assert wait_until(lambda: running_service_link(settings).level == "FAIL", 30, step=0.3)  # type: ignore[union-attr]
    finally:
        broker.close()
