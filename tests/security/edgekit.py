"""A real `storeedge run` on loopback, attacked as an intruder on the store's Wi-Fi would.

The service runs as a child process (its own memory, threads and file descriptors,
as in production), against a private mosquitto, with a real scrypt PIN hash. Clients
pick their loopback *source* address (127.0.0.0/8 is all loopback on Linux) to stand
for different machines on the store network.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.security import generate_password_hash

from storeedge.adapters.broker import PrivateMosquitto
from storeedge.simulators import demo_data

STAFF_PIN = "2468"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    cookies: list[str] = field(default_factory=list)


def write_config(
    directory: Path, mqtt_port: int, web: str = "", pin: bool = True, pin_value: str = STAFF_PIN
) -> Path:
    """The demo's store, with a staff PIN hash file (scrypt, werkzeug's default)."""
    text = demo_data.DEMO_TOML.format(mqtt_port=mqtt_port, data_dir=directory / "data", web_port=0)
    extra = ""
    if pin:
        pin_file = directory / "staff-pin-hash"
        pin_file.write_text(generate_password_hash(pin_value), encoding="utf-8")
        extra += f'staff_pin_hash_file = "{pin_file}"\n'
    text = text.replace("[web]\n", f"[web]\n{extra}{web}", 1)
    path = directory / "store.toml"
    path.write_text(text, encoding="utf-8")
    return path


class RunningEdge:
    """`python -m storeedge run --config ... --simulate walk`, until stopped."""

    def __init__(
        self,
        directory: Path,
        web: str = "",
        host: str = "127.0.0.1",
        pin: str = STAFF_PIN,
        nofile: int | None = None,
    ) -> None:
        self.directory = directory
        self.broker = PrivateMosquitto()
        self.broker.start()
        self.config = write_config(directory, self.broker.port, web, pin_value=pin)
        if host != "127.0.0.1":
            text = self.config.read_text(encoding="utf-8")
            self.config.write_text(
                text.replace('host = "127.0.0.1"\nport = 0', f'host = "{host}"\nport = 0'),
                encoding="utf-8",
            )
        self.stderr_path = directory / "run.stderr"
        self._stderr = self.stderr_path.open("wb")
        command = [sys.executable, "-m", "storeedge", "run", "--config", str(self.config)]
        command += ["--simulate", "walk"]
        if nofile is not None:
            # NB: as a unit's LimitNOFILE would set it; exec keeps the pid.
            command = ["/bin/sh", "-c", f'ulimit -n {nofile} && exec "$@"', "sh", *command]
        self.proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = re.search(r"(https?)://[^:/]+:(\d+)", line)
        if found is None:
            self.stop()
            raise AssertionError(f"run did not print its URL: {line!r}\n{self.log()}")
        self.scheme, self.port = found.group(1), int(found.group(2))
        threading.Thread(target=self._drain_stdout, daemon=True).start()

    def _drain_stdout(self) -> None:
        assert self.proc.stdout is not None
        for _ in self.proc.stdout:
            pass

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def log(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def status(self, key: str) -> int:
        """A ``/proc/PID/status`` figure in kB (VmRSS, VmHWM, Threads...)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
        raise KeyError(key)

    def cpu_seconds(self) -> float:
        """User + system CPU time the service has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def open_fds(self) -> int:
        return len(list(Path(f"/proc/{self.proc.pid}/fd").iterdir()))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
        self.broker.close()


@contextlib.contextmanager
def running_edge(
    directory: Path,
    web: str = "",
    host: str = "127.0.0.1",
    pin: str = STAFF_PIN,
    nofile: int | None = None,
) -> Iterator[RunningEdge]:
    edge = RunningEdge(directory, web, host, pin, nofile)
    try:
        yield edge
    finally:
        edge.stop()


def request(
    edge: RunningEdge,
    method: str,
    path: str,
    *,
    source: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    timeout: float = 10.0,
    context: Any = None,
) -> Response:
    """One HTTP request from ``source`` (a loopback address standing for a machine)."""
    if edge.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", edge.port, timeout=timeout, source_address=(source, 0), context=context
        )
    else:
        conn = http.client.HTTPConnection(
            "127.0.0.1", edge.port, timeout=timeout, source_address=(source, 0)
        )
    try:
        all_headers = dict(headers or {})
        if body is not None:
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        conn.request(method, path, body=body, headers=all_headers)
        answer = conn.getresponse()
        text = answer.read().decode("utf-8", errors="replace")
        cookies = answer.headers.get_all("Set-Cookie") or []
        return Response(
            answer.status, {k.lower(): v for k, v in answer.getheaders()}, text, cookies
        )
    finally:
        conn.close()


def raw(
    edge: RunningEdge,
    data: bytes,
    source: str = "127.0.0.1",
    timeout: float = 5.0,
    head_only: bool = False,
) -> bytes:
    """Bytes sent as they are on a fresh connection; what the server answers until it
    closes (or, with ``head_only``, until the end of the response head)."""
    with socket.create_connection(
        ("127.0.0.1", edge.port), timeout=timeout, source_address=(source, 0)
    ) as sock:
        sock.sendall(data)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if head_only and b"\r\n\r\n" in b"".join(chunks):
                    break
    return b"".join(chunks)


def sign_in(edge: RunningEdge, pin: str, source: str, name: str = "Marie") -> Response:
    from urllib.parse import urlencode

    return request(
        edge, "POST", "/staff/login", source=source, body=urlencode({"name": name, "pin": pin})
    )


def cookie_pair(set_cookie: str) -> str:
    """``name=value`` from a Set-Cookie header."""
    return set_cookie.split(";", 1)[0]
