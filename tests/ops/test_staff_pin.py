"""`storeedge staff-pin` on a real terminal (a pty): prompted twice, hash written 0600."""

from __future__ import annotations

import os
import pty
import select
import stat
import sys
import time
from pathlib import Path

from werkzeug.security import check_password_hash


def run_on_a_terminal(args: list[str], answers: list[str], timeout: float = 60) -> tuple[int, str]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal, as in a shell
        os.execv(sys.executable, [sys.executable, "-m", "storeedge", *args])
    seen, pending = b"", list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # NB: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            # NB: answer each prompt once it is shown: getpass flushes earlier input.
            prompts = seen.count(b"digits): ") + seen.count(b"again: ")
            if pending and prompts > len(answers) - len(pending):
                os.write(fd, (pending.pop(0) + "\n").encode())
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_the_pin_is_prompted_never_echoed_and_its_hash_written(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("STOREEDGE_MQTT_PASSWORD='x'\n")
    code, screen = run_on_a_terminal(["staff-pin", "--write", str(secrets)], ["482913", "482913"])
    assert code == 0, screen
    assert "482913" not in screen  # NB: getpass does not echo
    lines = secrets.read_text().splitlines()
    assert lines[0] == "STOREEDGE_MQTT_PASSWORD='x'"
    key, _, value = lines[1].partition("=")
    assert key == "STOREEDGE_STAFF_PIN_HASH"
    assert check_password_hash(value.strip("'"), "482913")
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600


def test_two_different_pins_change_nothing(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    code, screen = run_on_a_terminal(["staff-pin", "--write", str(secrets)], ["482913", "482914"])
    assert code == 1
    assert "differ" in screen
    assert not secrets.exists()
