"""`storeedge install`, `upgrade` and `rollback` into a throwaway root, with real venvs."""

from __future__ import annotations

import base64
import hashlib
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from storeedge.ops.commands import set_env_line, valid_pin
from storeedge.ops.install import Box, InstallError, install, rollback, upgrade
from storeedge.ops.sysfiles import set_ini

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The project's wheel as built for a box, and the same code relabelled 0.1.1 and 0.1.2."""
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("storeedge-*.whl")
    return {"first": built, **{v: relabel(built, v, out) for v in ("0.1.1", "0.1.2")}}


def relabel(wheel: Path, version: str, out: Path) -> Path:
    """A copy of ``wheel`` under another version (METADATA, dist-info name, RECORD)."""
    old = wheel.name.split("-")[1]
    target = out / wheel.name.replace(f"-{old}-", f"-{version}-")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        record: list[str] = []
        for item in src.infolist():
            name = item.filename.replace(
                f"storeedge-{old}.dist-info", f"storeedge-{version}.dist-info"
            )
            if name.endswith("RECORD"):
                record_name = name
                continue
            data = src.read(item)
            if name.endswith("METADATA"):
                data = data.replace(f"Version: {old}".encode(), f"Version: {version}".encode())
            dst.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(data)}")
        record.append(f"{record_name},,")
        dst.writestr(record_name, "\n".join(record) + "\n")
    return target


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.timeout(600)  # NB: two real venvs with every dependency (about 20 s each when idle)
def test_install_upgrade_failed_upgrade_and_rollback(
    tmp_path: Path, wheels: dict[str, Path]
) -> None:
    root = tmp_path / "root"
    (root / "etc/bluetooth").mkdir(parents=True)
    (root / "etc/bluetooth/main.conf").write_text(
        "[General]\n# Experimental = false\nName = box\n\n[Policy]\nAutoEnable=true\n"
    )
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/cmdline.txt").write_text("console=tty1 root=PARTUUID=1 rootwait\n")
    box = Box(root=root)

    first = install(box, wheels["first"])
    version = wheels["first"].name.split("-")[1]
    assert first.name == version
    assert box.current.resolve() == first
    assert (first / "bin/storeedge").exists()
    etc = root / "etc/storeedge"
    assert mode(etc / "secrets.env") == 0o600
    assert mode(etc / "storeedge.toml") == 0o640
    assert "[store]" in (etc / "storeedge.toml").read_text()
    for unit in ("storeedge.service", "storeedge-kiosk.service"):
        assert (root / "etc/systemd/system" / unit).read_text() == (
            REPO / "systemd" / unit
        ).read_text()
    if shutil.which("systemctl"):
        assert (root / "etc/systemd/system/multi-user.target.wants/storeedge.service").is_symlink()
        assert (
            root / "etc/systemd/system/graphical.target.wants/storeedge-kiosk.service"
        ).is_symlink()
    for rule in ("99-storeedge-bluetooth.rules", "99-storeedge-qr-scanners.rules"):
        assert (root / "etc/udev/rules.d" / rule).is_file()
    bluez = (root / "etc/bluetooth/main.conf").read_text()
    assert "Experimental = true" in bluez
    assert "Name = box" in bluez
    assert "ScanWindowDiscovery = 0x0060" in bluez
    assert (root / "etc/bluetooth/main.conf.storeedge-orig").is_file()
    assert "consoleblank=0" in (root / "boot/firmware/cmdline.txt").read_text()
    assert (root / "var/lib/storeedge").is_dir()

    # The technician's edits survive an upgrade.
    (etc / "storeedge.toml").write_text("# edited for store 42\n")
    second = upgrade(box, wheels["0.1.1"])
    assert second.name == "0.1.1"
    assert box.current.resolve() == second
    assert box.previous.resolve() == first
    assert (etc / "storeedge.toml").read_text() == "# edited for store 42\n"
    done = subprocess.run(
        [
            str(box.current / "bin/python"),
            "-c",
            "import importlib.metadata as m; print(m.version('storeedge'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "0.1.1"

    # A release that fails its readiness check (here: its dependencies missing) is rolled back.
    broken = Box(root=root, pip_args=("--no-deps",))
    with pytest.raises(InstallError, match=r"0\.1\.2 not ready .*kept 0\.1\.1"):
        upgrade(broken, wheels["0.1.2"])
    assert box.current.resolve() == second
    assert box.previous.resolve() == first
    assert not (box.releases / "0.1.2").exists()

    # And the technician can go back one release by hand.
    assert rollback(box) == first
    assert box.current.resolve() == first
    assert box.previous.resolve() == second
    with pytest.raises(InstallError, match="is the one running"):
        upgrade(box, wheels["first"])


def test_upgrade_without_an_install_says_so(tmp_path: Path, wheels: dict[str, Path]) -> None:
    with pytest.raises(InstallError, match="run `storeedge install` first"):
        upgrade(Box(root=tmp_path), wheels["0.1.1"])
    with pytest.raises(InstallError, match="no previous release"):
        rollback(Box(root=tmp_path))


def test_ini_edits_keep_every_other_line() -> None:
    text = "[General]\n#Experimental = false\nName=x\n[LE]\n"
    out = set_ini(
        set_ini(text, "General", "Experimental", "true"), "LE", "ScanWindowSuspend", "0x0060"
    )
    assert out == "[General]\nExperimental = true\nName=x\n[LE]\nScanWindowSuspend = 0x0060\n"
    assert set_ini("", "LE", "A", "1") == "\n[LE]\nA = 1\n"


def test_staff_pin_line_is_single_quoted_and_replaces_the_old_one() -> None:
    text = "STOREEDGE_MQTT_PASSWORD=x\n#STOREEDGE_STAFF_PIN_HASH=\n"
    out = set_env_line(text, "STOREEDGE_STAFF_PIN_HASH", "scrypt:32768:8:1$ab$cd")
    assert out == "STOREEDGE_MQTT_PASSWORD=x\nSTOREEDGE_STAFF_PIN_HASH='scrypt:32768:8:1$ab$cd'\n"
    assert valid_pin("0042")
    assert not valid_pin("12")
    assert not valid_pin("12a4")
    assert not valid_pin("١٢٣٤")


def test_cli_install_into_a_root_prints_the_next_steps(
    tmp_path: Path, wheels: dict[str, Path]
) -> None:
    from storeedge.cli import main

    assert main(["rollback", "--root", str(tmp_path)]) == 1
