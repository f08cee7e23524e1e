"""The notify protocol against a real `storeedge run --simulate walk` (CONTRACTS 9)."""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from storeedge.ops.notify import (
    Notifier,
    ServiceManager,
    Watchdog,
    watchdog_period_s,
)
from storeedge.runtime import CoreLoop
from tests.ops.opskit import NotifySocket, free_port, running_service, write_config

WATCHDOG_USEC = 1_500_000  # pings at least every 0.75 s


def core_answers(core: CoreLoop, timeout: float) -> bool:
    """What CoreGateway.alive does: a call onto the loop that comes back in time."""
    try:
        return core.call(lambda: True, timeout=timeout)
    except TimeoutError:
        return False


@pytest.fixture
def notify(tmp_path: Path) -> NotifySocket:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock  # type: ignore[misc]  # NB: a generator fixture typed by what it yields
    sock.close()


def pings(lines: list[str]) -> int:
    return sum(line == "WATCHDOG=1" for line in lines)


def test_run_says_ready_pings_while_the_core_answers_and_stops_cleanly(
    tmp_path: Path, notify: NotifySocket
) -> None:
    config = write_config(tmp_path, web_port=free_port())
    stall = tmp_path / "stall"
    env = {
        "NOTIFY_SOCKET": str(notify.path),
        "WATCHDOG_USEC": str(WATCHDOG_USEC),
        "STOREEDGE_TEST_STALL": str(stall),
    }
    log = tmp_path / "run.log"
    with running_service(config, env, log) as proc:
        assert notify.wait_for("READY=1", 60), log.read_text()
        ready_line = next(text for _, text in notify.messages if "READY=1" in text)
        assert "STATUS=serving store store-042 edge edge-1" in ready_line

        assert pings(notify.receive(3.0)) >= 3  # at least one per half period

        stall.touch()  # the core loop now blocks in a callback
        notify.receive(1.5)  # a probe already under way may still answer
        assert pings(notify.receive(3.0)) == 0, "a stalled core must stop the pings"

        stall.unlink()
        assert pings(notify.receive(3.0)) >= 2, "pings resume once the core answers"

        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert notify.wait_for("STOPPING=1", 5)
        assert proc.wait(10) == 0
        assert time.monotonic() - started < 10
    text = log.read_text()
    assert "watchdog pings withheld" in text
    assert "Traceback" not in text


def test_a_stalled_core_killed_as_systemd_does_leaves_its_stack_in_the_log(
    tmp_path: Path, notify: NotifySocket
) -> None:
    config = write_config(tmp_path, web_port=free_port())
    stall = tmp_path / "stall"
    env = {
        "NOTIFY_SOCKET": str(notify.path),
        "WATCHDOG_USEC": str(WATCHDOG_USEC),
        "STOREEDGE_TEST_STALL": str(stall),
    }
    log = tmp_path / "run.log"
    with running_service(config, env, log) as proc:
        assert notify.wait_for("READY=1", 60), log.read_text()
        stall.touch()
        notify.receive(1.5)
        assert pings(notify.receive(1.5)) == 0
        proc.send_signal(signal.SIGABRT)  # NB: WatchdogSignal's default
        assert proc.wait(10) == -signal.SIGABRT
    text = log.read_text()
    assert "Fatal Python error: Aborted" in text
    assert re.search(r'File "<string>", line \d+ in check', text)  # the stuck callback


def test_without_notify_socket_nothing_is_sent() -> None:
    manager = ServiceManager.from_env(lambda timeout: True, environ={})
    manager.ready("x")
    assert manager.watchdog is None
    manager.stopping()


def test_abstract_socket_names_and_watchdog_pid_are_honoured() -> None:
    name = f"storeedge-test-{time.monotonic_ns()}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind("\0" + name)
    server.settimeout(2)
    notifier = Notifier(f"@{name}")
    try:
        assert notifier.ready("up")
        assert server.recv(100) == b"READY=1\nSTATUS=up"
    finally:
        notifier.close()
        server.close()
    assert watchdog_period_s({"WATCHDOG_USEC": "20000000"}) == 20.0
    assert watchdog_period_s({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "nonsense"}) is None


def test_watchdog_on_a_real_core_loop_withholds_pings_while_it_is_blocked(
    notify: NotifySocket,
) -> None:
    core = CoreLoop()
    core.start()
    try:
        manager = ServiceManager.from_env(
            lambda timeout: core_answers(core, timeout),
            environ={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "600000"},
        )
        manager.ready()
        assert isinstance(manager.watchdog, Watchdog)
        assert pings(notify.receive(1.0)) >= 3
        release = threading.Event()
        core.submit(lambda: release.wait(10))
        notify.receive(0.5)
        assert pings(notify.receive(1.0)) == 0
        release.set()
        assert pings(notify.receive(1.0)) >= 2
        manager.stopping()
        assert notify.wait_for("STOPPING=1", 2)
    finally:
        core.stop()
