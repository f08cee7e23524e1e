"""The systemd units: exposure scores and syntax, measured with systemd-analyze."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
# The ceilings; the units score 1.3 and 2.2 when this was written.
CEILINGS = {"storeedge.service": 2.0, "storeedge-kiosk.service": 5.0}

analyze = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    analyze is None, reason="systemd-analyze is not installed (Debian: apt-get install systemd)"
)


def exposure(unit: str) -> float:
    assert analyze is not None
    done = subprocess.run(
        [analyze, "security", "--offline=true", str(UNITS / unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", done.stdout)
    assert found, done.stdout + done.stderr
    return float(found.group(1))


@needs_analyze
@pytest.mark.parametrize("unit", sorted(CEILINGS))
def test_exposure_stays_under_the_ceiling(unit: str) -> None:
    assert analyze is not None
    done = subprocess.run(
        [
            analyze,
            "security",
            "--offline=true",
            f"--threshold={int(CEILINGS[unit] * 10)}",
            str(UNITS / unit),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{unit}: exposure {exposure(unit)} > {CEILINGS[unit]}"
    assert exposure(unit) <= CEILINGS[unit]


def test_service_speaks_notify_with_a_watchdog_and_bounded_resources() -> None:
    text = (UNITS / "storeedge.service").read_text()
    for line in (
        "Type=notify",
        "NotifyAccess=main",
        "WatchdogSec=30",
        "TimeoutStopSec=10",
        "MemoryMax=",
        "LimitNOFILE=",
    ):
        assert re.search(rf"^{re.escape(line)}", text, re.M), line


def test_kiosk_unit_needs_no_curl_and_caps_its_restarts() -> None:
    text = (UNITS / "storeedge-kiosk.service").read_text()
    assert "curl" not in text
    assert "python -m storeedge.ops.kiosk" in text
    assert re.search(r"^StartLimitBurst=\d+$", text, re.M)
    assert re.search(r"^StartLimitIntervalSec=3600$", text, re.M)


def test_every_sandbox_exception_has_its_reason() -> None:
    for unit in CEILINGS:
        text = (UNITS / unit).read_text()
        assert text.count("# Exception") >= 3, unit


@needs_analyze
def test_units_verify_with_no_warning(tmp_path: Path) -> None:
    """`systemd-analyze verify` on copies whose programs exist here (the box's do not)."""
    assert analyze is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("storeedge", "python"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    copies = []
    for unit in CEILINGS:
        copy = tmp_path / unit
        text = (UNITS / unit).read_text().replace("/opt/storeedge/current/bin/", f"{bin_dir}/")
        copy.write_text(text)
        copies.append(str(copy))
    done = subprocess.run(
        [analyze, "verify", *copies], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # NB: unknown keys are only warnings
