"""A console that is never open by accident: no PIN, no network bind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from edgekit import write_config


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
