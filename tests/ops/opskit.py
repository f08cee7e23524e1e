"""Helpers for the operations tests: a service config, a notify socket, a running edge."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVICE_TOML = """
[store]
id = "store-042"
edge_id = "edge-1"
door = [10.0, 0.0]

[mqtt]
host = "127.0.0.1"
port = {mqtt_port}
tls = false

[data]
dir = "{data}"

[web]
host = "127.0.0.1"
port = {web_port}

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
adapter = "hci1"

[[scanners]]
id = "kiosk"
zone = "kiosk"
role = "kiosk"
position = [3.0, 6.0]
adapter = "hci2"

[[kiosks]]
id = "kiosk-1"
zone = "kiosk"
"""

# Runs the real command line in a child, with one test-only addition: while the file
# named by STOREEDGE_TEST_STALL exists, a callback on the core loop blocks it (as a rule
# stuck in a loop would). Everything else is `storeedge run` as systemd starts it.
STALLABLE_RUN = """
import os, sys, time
from pathlib import Path
from storeedge import runtime

flag = Path(os.environ.get("STOREEDGE_TEST_STALL", "/nonexistent/stall"))
original_start = runtime.CoreLoop.start

def start(self):
    original_start(self)
    def check():
        while flag.exists():
            time.sleep(0.05)
        self.loop.call_later(0.1, check)
    self.loop.call_soon_threadsafe(check)

runtime.CoreLoop.start = start
from storeedge.cli import main
sys.exit(main(sys.argv[1:]))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_config(directory: Path, web_port: int, mqtt_port: int | None = None) -> Path:
    path = directory / "store.toml"
    path.write_text(
        SERVICE_TOML.format(
            mqtt_port=mqtt_port or free_port(), data=directory / "data", web_port=web_port
        ),
        encoding="utf-8",
    )
    return path


class NotifySocket:
    """The service manager's end of the notify protocol: a datagram socket of our own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self.messages: list[tuple[float, str]] = []

    def receive(self, timeout: float) -> list[str]:
        """Messages that arrive within ``timeout`` seconds (each split into lines)."""
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self._sock.settimeout(left)
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                break
            text = data.decode("utf-8")
            self.messages.append((time.monotonic(), text))
            got.extend(text.splitlines())
        return got

    def wait_for(self, line: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if line in self.receive(min(0.2, max(0.0, deadline - time.monotonic()))):
                return True
        return False

    def close(self) -> None:
        self._sock.close()


@contextmanager
def running_service(
    config: Path, env: dict[str, str], log: Path, *, script: str = STALLABLE_RUN
) -> Iterator[subprocess.Popen[bytes]]:
    """`storeedge run --simulate walk` in a child process (stderr into ``log``); killed if
    the test leaves it running."""
    full_env = {**os.environ, **env}
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", script, "run", "--config", str(config), "--simulate", "walk"],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)
