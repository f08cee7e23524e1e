"""A console that is never open by accident: no PIN, no network bind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from edgekit import write_config

from storeedge.config import ConfigError, load_settings


def test_a_network_bind_without_a_pin_fails_to_start_with_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, 1883, pin=False)
    text = config.read_text(encoding="utf-8").replace(
        'host = "127.0.0.1"\nport = 0', 'host = "0.0.0.0"\nport = 0'
    )
    config.write_text(text, encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-m", "storeedge", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "web.host" in lines[0]
    assert "staff_pin_hash_file" in lines[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_kiosk_enrol_says_when_run_is_not_running(tmp_path: Path) -> None:
    config = write_config(tmp_path, 1883)

    done = subprocess.run(
        [sys.executable, "-m", "storeedge", "kiosk-enrol", "--config", str(config), "kiosk-1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 1
    assert "not running" in done.stderr
    assert done.stdout == ""


def rebind(config: Path, web: str) -> Path:
    """The config with ``web`` in place of its ``[web] host`` line."""
    text = config.read_text(encoding="utf-8")
    text = text.replace('host = "127.0.0.1"\nport = 0\n', "port = 0\n")
    config.write_text(text.replace("[web]\n", f"[web]\n{web}", 1), encoding="utf-8")
    return config


@pytest.mark.parametrize(
    ("web", "problem"),
    [
        ('host = "0.0.0.0"\n', "web.host"),
        ('host = "192.168.1.20"\n', "web.host"),
        ('host = "::"\n', "web.host"),
        ('tls_cert_file = "/etc/x.pem"\n', "tls_cert_file and tls_key_file go together"),
        ('allowed_hosts = ["edge.local:8080"]\n', "web.allowed_hosts"),
        ('allowed_hosts = "edge.local"\n', "web.allowed_hosts"),
        ('allowed_hosts = [""]\n', "web.allowed_hosts"),
    ],
)
def test_network_settings_are_checked(tmp_path: Path, web: str, problem: str) -> None:
    config = rebind(write_config(tmp_path, 1883, pin=False), web)

    with pytest.raises(ConfigError) as refused:
        load_settings(config)

    assert problem in str(refused.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.5", "::1", "localhost"])
def test_loopback_binds_may_go_without_a_pin(tmp_path: Path, host: str) -> None:
    config = rebind(write_config(tmp_path, 1883, pin=False), f'host = "{host}"\n')

    assert load_settings(config).web.staff_pin_hash is None
