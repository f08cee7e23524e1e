"""Chaos harness: an edge subprocess, a broker that can die, a proxy that can fail, a checker.

Used by the chaos tests (small counts, default run) and by ``soak.py`` (the
acceptance counts). Everything runs on loopback.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simlab.linkproxy import LinkProxy
from storeedge.adapters.broker import find_mosquitto, free_port, wait_for_port
from storeedge.simulators.central import CentralSimulator

STORE = "store-042"
EDGE = "edge-1"
SOURCE = f"/stores/{STORE}/edges/{EDGE}"
PUBLISHER = Path(__file__).with_name("edge_publisher.py")

TOML = """
[store]
id = "{store}"
edge_id = "{edge}"

[mqtt]
host = "127.0.0.1"
port = {port}
tls = false
keepalive_s = 5

[data]
dir = "{data}"
"""


class DurableBroker:
    """mosquitto with persistence, so central's session and subscriptions survive a kill -9.

    NB: persistence is written on SIGUSR1 (after central subscribed) and at a clean
    stop; what the broker held only in memory when killed is the broker's loss, and
    the harness keeps central connected so that window stays tiny.
    """

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> None:
        binary = find_mosquitto()
        assert binary, "mosquitto is not installed"
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\nallow_anonymous true\n"
            f"persistence true\npersistence_location {self.workdir}/\n"
            "autosave_interval 3600\nmax_queued_messages 1000000\nmax_inflight_messages 0\n"
            "log_dest stderr\nlog_type error\n" + ("user root\n" if os.geteuid() == 0 else ""),
            # NB: started as root, mosquitto drops to the "mosquitto" user, which cannot
            # write its persistence file into our private temporary directory.
            encoding="utf-8",
        )
        log = (self.workdir / "mosquitto.log").open("ab")
        self._proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
        log.close()
        if not wait_for_port(self.host, self.port, 10):
            raise RuntimeError("mosquitto did not start")

    def save(self) -> None:
        assert self._proc is not None
        db = self.workdir / "mosquitto.db"
        before = db.stat().st_mtime_ns if db.exists() else 0
        self._proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if db.exists() and db.stat().st_mtime_ns != before:
                return
            time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not write {db}")

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
            self._proc = None

    def close(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
            self._proc = None


class EdgeProcess:
    """``edge_publisher.py`` as a subprocess that can be stopped cleanly or killed -9."""

    def __init__(self, config: Path, rate: float, ack_log: Path | None = None) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        extra = ["--ack-log", str(ack_log)] if ack_log else []
        log = (config.parent / "edge.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(PUBLISHER), "--config", str(config), "--rate", str(rate), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
        )
        log.close()  # NB: the child has its own descriptor
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _close_pipes(self) -> None:
        self._reader.join(5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._cond:
                self.lines.append(raw.decode().strip())
                self._cond.notify_all()

    def wait_line(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"edge did not say {prefix!r}: {self.lines}")
                self._cond.wait(left)

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._close_pipes()

    def finish(self, timeout: float = 120.0) -> int:
        """Stops emitting, waits for the drain; returns the last sequence stored."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"STOP\n")
        self.proc.stdin.flush()
        line = self.wait_line("DRAINED", timeout)
        self.proc.wait(30)
        self._close_pipes()
        return int(line.split()[1])


@dataclass
class Verdict:
    scenario: str
    faults: int
    events: int
    seconds: float
    lost: int
    unexpected: int
    duplicates: int
    duplicates_different_bytes: int
    out_of_order: int
    invalid: int
    rate: float
    notes: list[str] = field(default_factory=list)
    broker_lost: int = 0  # acknowledged by a broker that was then killed -9 before delivering

    @property
    def clean(self) -> bool:
        return (
            self.lost == 0
            and self.unexpected == 0
            and self.duplicates_different_bytes == 0
            and self.invalid == 0
        )

    def line(self) -> str:
        return (
            f"{self.scenario}: {self.faults} faults, {self.events} events in {self.seconds:.1f} s "
            f"({self.rate:.0f}/s offered), lost {self.lost}, unexpected {self.unexpected}, "
            f"duplicates {self.duplicates} ({self.duplicates_different_bytes} differing), "
            f"out of order {self.out_of_order}, invalid {self.invalid}"
            + (
                f"; lost inside the killed broker after its PUBACK {self.broker_lost}"
                if self.broker_lost
                else ""
            )
        )


def write_config(workdir: Path, port: int) -> Path:
    config = workdir / "edge.toml"
    config.write_text(
        TOML.format(store=STORE, edge=EDGE, port=port, data=workdir / "edge-data"), encoding="utf-8"
    )
    return config


def verdict(
    scenario: str, central: CentralSimulator, last: int, faults: int, seconds: float, rate: float
) -> Verdict:
    """Waits for every sequence up to ``last``, then counts what went wrong."""
    central.wait_for(lambda c: len(c.checker.received_sequences(SOURCE)) >= last, 60)
    report = central.checker.report()
    received = central.checker.received_sequences(SOURCE)
    lost = [s for s in range(1, last + 1) if s not in received]
    unexpected = sum(1 for s in received if s > last)
    with central._lock:  # the test reads the simulator's own record
        events = list(central.events)
    unexpected += sum(1 for e in events if e.event["data"].get("probe") != int(e.event["sequence"]))
    notes = list(report.get("problems", []))
    if lost:
        notes.append(f"lost sequences (first 20): {lost[:20]}")
    return Verdict(
        scenario=scenario,
        faults=faults,
        events=last,
        seconds=seconds,
        lost=len(lost),
        unexpected=unexpected,
        duplicates=report.get("duplicates", 0),
        duplicates_different_bytes=report.get("duplicates_different_bytes", 0),
        out_of_order=report.get("out_of_order", 0),
        invalid=report.get("invalid", 0),
        rate=rate,
        notes=notes,
    )


def broker_losses(
    lost: list[int], ack_log: Path, outages: list[tuple[float, float]], window_s: float = 5.0
) -> list[int]:
    """Lost sequences a broker acknowledged and was then killed -9 with.

    ``outages`` holds (kill signal sent, replacement broker started) wall times.

    NB: a PUBACK means the broker took the message over. mosquitto keeps queued
    messages in memory, so what it acknowledged and had not yet written to the
    subscriber dies with it: the broker's loss, not the edge's. A PUBACK the edge
    logged after the kill signal but before the replacement started can only have
    come from the dying broker (SIGKILL is not instantaneous, and the edge logs an
    acknowledgement when it reads it).
    """
    acked: dict[int, float] = {}
    for line in ack_log.read_text(encoding="ascii").splitlines():
        seq, at = line.split()
        acked.setdefault(int(seq), float(at))
    out = []
    for seq in lost:
        at = acked.get(seq)
        if at is not None and any(kill - window_s <= at <= up for kill, up in outages):
            out.append(seq)
    return out


def ack_times(ack_log: Path, seqs: list[int], origin: float) -> list[tuple[int, float]]:
    acked: dict[int, float] = {}
    for line in ack_log.read_text(encoding="ascii").splitlines():
        seq, at = line.split()
        acked.setdefault(int(seq), float(at))
    return [(s, round(acked.get(s, 0) - origin, 3)) for s in seqs]


def run_kill9(workdir: Path, kills: int, rate: float = 150.0, seed: int = 4) -> Verdict:
    """kill -9 of the edge while it publishes, ``kills`` times, then a clean drain."""
    rng = random.Random(seed)
    broker = DurableBroker(workdir / "broker")
    broker.start()
    central = CentralSimulator(broker.host, broker.port, STORE)
    central.start()
    config = write_config(workdir, broker.port)
    started = time.monotonic()
    try:
        for _ in range(kills):
            edge = EdgeProcess(config, rate)
            edge.wait_line("READY", 20)
            time.sleep(rng.uniform(0.3, 1.5))
            edge.kill9()
        edge = EdgeProcess(config, rate)
        edge.wait_line("READY", 20)
        time.sleep(1.0)
        last = edge.finish()
        return verdict("kill -9 edge", central, last, kills, time.monotonic() - started, rate)
    finally:
        central.stop()
        broker.close()


def run_broker_restarts(
    workdir: Path, restarts: int, rate: float = 150.0, seed: int = 5, hard: bool = True
) -> Verdict:
    """Broker killed (or stopped) and restarted on the same port while the edge publishes."""
    rng = random.Random(seed)
    broker = DurableBroker(workdir / "broker")
    broker.start()
    central = CentralSimulator(
        broker.host, broker.port, STORE, client_id="central-chaos", persistent=True
    )
    central.start()
    broker.save()  # NB: central's session and subscriptions now survive a kill -9
    config = write_config(workdir, broker.port)
    started = time.monotonic()
    ack_log = workdir / "acks.log"
    edge = EdgeProcess(config, rate, ack_log)
    kill_times: list[float] = []
    restart_times: list[float] = []
    started_wall = time.time()
    try:
        edge.wait_line("READY", 20)
        for _ in range(restarts):
            time.sleep(rng.uniform(0.5, 1.5))
            kill_times.append(time.time())
            if hard:
                broker.kill()
            else:
                broker.close()
            time.sleep(rng.uniform(0.2, 1.0))
            restart_times.append(time.time())
            broker.start()
            central.wait_for(lambda c: c.connected, 15)
        time.sleep(1.0)
        last = edge.finish()
        name = "broker kill -9 + restart" if hard else "broker stop + restart"
        result = verdict(name, central, last, restarts, time.monotonic() - started, rate)
        if hard and result.lost:
            lost = sorted(set(range(1, last + 1)) - central.checker.received_sequences(SOURCE))
            inside = broker_losses(lost, ack_log, list(zip(kill_times, restart_times, strict=True)))
            result.broker_lost = len(inside)
            result.notes.append(f"kills at {[round(k - started_wall, 2) for k in kill_times]}")
            outside = [s for s in lost if s not in set(inside)]
            result.notes.append(f"unexplained {ack_times(ack_log, outside[:40], started_wall)}")
            result.lost -= len(inside)
        return result
    finally:
        with contextlib.suppress(Exception):
            edge.kill9()
        central.stop()
        broker.close()


def run_link_faults(workdir: Path, faults: int, rate: float = 150.0, seed: int = 6) -> Verdict:
    """Resets, black holes and latency between edge and broker (central stays connected)."""
    rng = random.Random(seed)
    broker = DurableBroker(workdir / "broker")
    broker.start()
    central = CentralSimulator(broker.host, broker.port, STORE)
    central.start()
    proxy = LinkProxy(broker.host, broker.port).start()
    config = write_config(workdir, proxy.port)
    started = time.monotonic()
    edge = EdgeProcess(config, rate)
    kinds = ("reset", "blackhole", "latency")
    try:
        edge.wait_line("READY", 20)
        for index in range(faults):
            time.sleep(rng.uniform(0.5, 1.0))
            kind = kinds[index % len(kinds)]
            if kind == "reset":
                proxy.reset()
            elif kind == "blackhole":
                proxy.blackhole(True)
                time.sleep(rng.uniform(2.0, 7.0))
                proxy.blackhole(False)
            else:
                proxy.latency(rng.uniform(0.2, 0.8))
                time.sleep(2.0)
                proxy.latency(0.0)
        time.sleep(1.0)
        last = edge.finish()
        return verdict("link faults", central, last, faults, time.monotonic() - started, rate)
    finally:
        with contextlib.suppress(Exception):
            edge.kill9()
        proxy.stop()
        central.stop()
        broker.close()


def summary(verdicts: list[Verdict]) -> dict[str, Any]:
    return {v.scenario: v.line() for v in verdicts}
