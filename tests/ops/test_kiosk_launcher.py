"""The kiosk launcher against a running service: readiness wait, heartbeat restart, clean stop."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from polling import wait_until

from storeedge.ops.kiosk import KioskScreen, kiosk_connected
from tests.ops.opskit import free_port, running_service, write_config

CHROMIUM = shutil.which("chromium")


def launcher(url: str, command: list[str], grace: float, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "STOREEDGE_KIOSK_URL": url, "STOREEDGE_KIOSK_ID": "kiosk-1"}
    with log.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "storeedge.ops.kiosk", "--grace", str(grace), "--check", "0.3",
             "--", *command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )  # fmt: skip


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.browser
def test_launcher_waits_for_the_service_restarts_a_silent_page_and_keeps_a_live_one(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    started = tmp_path / "browser.pid"
    # A "browser" that never loads the page: it only says it started.
    silent = ["sh", "-c", f"echo $$ > {started}; exec sleep 120"]
    first = launcher(url, silent, grace=2.0, log=tmp_path / "silent.log")
    try:
        assert not wait_until(started.exists, 2.0), "started before the service answered"
        config = write_config(tmp_path, web_port=port)
        with running_service(config, {}, tmp_path / "run.log"):
            assert wait_until(started.exists, 30), (tmp_path / "silent.log").read_text()
            assert first.wait(30) == 1, "a page silent past the grace must end the launcher"
            pid = int(started.read_text())
            assert wait_until(lambda: not alive(pid), 5), "the silent browser must be stopped"
            assert "kiosk page silent" in (tmp_path / "silent.log").read_text()

            if CHROMIUM is None:
                pytest.fail("chromium is not installed: run `make test`, which installs it")
            # The screen is enrolled as an installer does it: kiosk-enrol's one-time URL.
            enrol = subprocess.run(
                [sys.executable, "-m", "storeedge", "kiosk-enrol", "--config", str(config),
                 "kiosk-1"],
                capture_output=True, text=True, timeout=60, check=True,
            )  # fmt: skip
            once = enrol.stdout.strip().splitlines()[-1]
            browser = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                       f"--user-data-dir={tmp_path / 'profile'}", once]  # fmt: skip
            live = launcher(url, browser, grace=4.0, log=tmp_path / "live.log")
            try:
                base = url.rstrip("/")
                assert wait_until(lambda: kiosk_connected(base, "kiosk-1") is True, 45)
                assert not wait_until(lambda: live.poll() is not None, 8.0), (
                    tmp_path / "live.log"
                ).read_text()
                live.send_signal(signal.SIGTERM)
                assert live.wait(15) == 0
                assert wait_until(lambda: kiosk_connected(base, "kiosk-1") is False, 30)
            finally:
                if live.poll() is None:
                    live.kill()
    finally:
        if first.poll() is None:
            first.kill()


def test_screen_settings_from_the_environment() -> None:
    screen = KioskScreen.from_env({"STOREEDGE_KIOSK_ROTATE": "270", "HOME": "/var/lib/k"})
    command = screen.command()
    assert command[:6] == ["/usr/bin/cage", "-d", "-r", "-r", "-r", "--"]
    assert "--user-data-dir=/var/lib/k/chromium" in command
    assert command[-1] == "http://127.0.0.1:8080/"
    assert "--incognito" not in command  # NB: an enrolled kiosk keeps its credential
    with pytest.raises(ValueError, match="0, 90, 180 or 270"):
        KioskScreen.from_env({"STOREEDGE_KIOSK_ROTATE": "45"})


def test_a_one_time_enrolment_url_is_opened_once(tmp_path: Path) -> None:
    from storeedge.ops.kiosk import Launcher

    screen = KioskScreen.from_env({"HOME": str(tmp_path)})
    (tmp_path / "enrol-url").write_text("enrol URL for kiosk-1:\nhttp://127.0.0.1:8080/enrol/abc\n")
    launcher = Launcher(screen)
    assert launcher.command()[-1] == "http://127.0.0.1:8080/enrol/abc"
    assert not (tmp_path / "enrol-url").exists()
    assert launcher.command()[-1] == "http://127.0.0.1:8080/"
    # Only a loopback URL is taken: the file must not send the screen elsewhere.
    (tmp_path / "enrol-url").write_text("https://evil.example/enrol/abc\n")
    assert launcher.command()[-1] == "http://127.0.0.1:8080/"


def test_the_installer_hands_the_screen_its_enrolment_url(tmp_path: Path) -> None:
    from storeedge.ops.kiosk import Launcher
    from storeedge.ops.sysfiles import first_kiosk, hand_enrol_url

    etc = tmp_path / "etc/storeedge"
    etc.mkdir(parents=True)
    (etc / "storeedge.toml").write_text('[[kiosks]]\nid = "kiosk-7"\nzone = "kiosk"\n')
    (etc / "kiosk.env").write_text("#STOREEDGE_KIOSK_ID=kiosk-1\n")
    assert first_kiosk(etc / "storeedge.toml", etc / "kiosk.env") == "kiosk-7"
    (etc / "kiosk.env").write_text("STOREEDGE_KIOSK_ID='kiosk-2'\n")
    assert first_kiosk(etc / "storeedge.toml", etc / "kiosk.env") == "kiosk-2"

    path = hand_enrol_url(tmp_path, "http://127.0.0.1:8080/enrol/xyz", on_host=False)
    assert path == tmp_path / "var/lib/storeedge-kiosk/enrol-url"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    screen = KioskScreen.from_env({"HOME": str(path.parent)})
    assert Launcher(screen).command()[-1] == "http://127.0.0.1:8080/enrol/xyz"
