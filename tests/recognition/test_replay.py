"""`storeedge replay` / `record` end to end, and the privacy promise on outputs and data dir."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from storeedge.adapters.crypto import aes128_ecb
from storeedge.core.records import record_to_json
from storeedge.simulators import scenario as scen
from storeedge.simulators.world import World, store_toml

SHOPPERS = 3
STRANGER = "7A:7B:7C:7D:7E:7F"


def _address_forms(addresses: set[str]) -> list[bytes]:
    forms: set[bytes] = set()
    for address in addresses:
        bare = address.replace(":", "")
        for text in (address, address.lower(), bare, bare.lower()):
            forms.add(text.encode())
        forms.add(bytes.fromhex(bare))
    return sorted(forms)


def _stranger(line: str, manufacturer: dict[str, str], service: dict[str, str]) -> str:
    """A line from an unknown device carrying a malformed payload."""
    raw = json.loads(line)
    raw.update(address=STRANGER, manufacturer_data=manufacturer, service_data=service)
    return json.dumps(raw)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("replay")
    world = World(aes128_ecb, seed=5)
    sc = scen.Scenario(duration_s=400.0, shoppers=SHOPPERS, passers_by=6, anonymous=8, beacons=2)
    profiles = scen.build(world, sc, seed=5)
    lines: list[str] = []
    t = sc.start
    while not world.done():
        t += 10.0
        lines.extend(record_to_json(r) for r in world.step(t))
    addresses = {json.loads(line)["address"] for line in lines} | {STRANGER}
    bad = [
        "garbage",
        '{"t": -5, "scanner": "entrance", "address": "x", "rssi": -50}',
        _stranger(lines[97], {}, {"0000feaa-0000-1000-8000-00805f9b34fb": "30"}),
        _stranger(lines[98], {"76": "02150000"}, {}),
        json.dumps({**json.loads(lines[99]), "rssi": "loud"}),
    ]
    mixed = lines[:100] + bad + lines[100:]
    recording = root / "walk.jsonl.gz"
    with gzip.open(recording, "wt", encoding="utf-8") as out:
        out.write("\n".join(mixed) + "\n")
    customers = root / "customers.json"
    customers.write_text(json.dumps([*profiles, {"customer_id": "bad id"}]), encoding="utf-8")
    config = root / "store.toml"
    data = root / "data"
    config.write_text(store_toml(str(data)), encoding="utf-8")
    return {
        "recording": recording,
        "customers": customers,
        "config": config,
        "data": data,
        "addresses": addresses,
        "truth": world.truth,
        "lines": len(lines),
    }


def _replay(sim: dict[str, Any]) -> subprocess.CompletedProcess[bytes]:
    cmd = [sys.executable, "-m", "storeedge", "replay", str(sim["recording"])]
    cmd += ["--config", str(sim["config"]), "--customers", str(sim["customers"]), "--drain", "200"]
    return subprocess.run(cmd, capture_output=True, check=True, timeout=120)


@pytest.fixture(scope="module")
def replayed(simulated: dict[str, Any]) -> subprocess.CompletedProcess[bytes]:
    return _replay(simulated)


def test_replay_reports_malformed_lines_and_still_recognises_members(
    simulated: dict[str, Any], replayed: subprocess.CompletedProcess[bytes]
) -> None:
    stderr = replayed.stderr.decode()
    assert f"replay: {simulated['lines'] + 2} records, 3 malformed lines" in stderr
    assert "malformed.json: 1" in stderr
    assert "malformed.t: 1" in stderr
    assert "malformed.rssi: 1" in stderr
    assert "eddystone.eid_length: 1" in stderr
    assert "ibeacon.length: 1" in stderr
    assert "customers.malformed.profile: 1" in stderr
    events = [json.loads(line) for line in replayed.stdout.splitlines()]
    shoppers = {t.customer_id for t in simulated["truth"] if t.role == "shopper"}
    arrived = {
        e["data"]["customer_id"] for e in events if e["type"] == "storeedge.customer.arrived"
    }
    departed = {
        e["data"]["customer_id"] for e in events if e["type"] == "storeedge.customer.departed"
    }
    assert shoppers <= arrived
    assert shoppers <= departed


def test_replay_prints_contiguous_cloudevents_on_the_recording_clock(
    simulated: dict[str, Any], replayed: subprocess.CompletedProcess[bytes]
) -> None:
    events = [json.loads(line) for line in replayed.stdout.splitlines()]
    assert [int(e["sequence"]) for e in events] == list(range(1, len(events) + 1))
    assert all(
        e["specversion"] == "1.0" and e["source"] == "/stores/store-sim/edges/edge-1"
        for e in events
    )
    assert all(e["time"].startswith("2025-11-23T") for e in events)
    types = {e["type"] for e in events}
    assert {"storeedge.beacon.telemetry", "storeedge.footfall.counted"} <= types
    assert (
        any(e["type"] == "storeedge.alert.raised" and e["data"]["kind"] == "vip" for e in events)
        is False
    )


def test_replay_is_deterministic(
    simulated: dict[str, Any], replayed: subprocess.CompletedProcess[bytes]
) -> None:
    assert _replay(simulated).stdout == replayed.stdout


def test_no_output_event_contains_an_input_address(
    simulated: dict[str, Any], replayed: subprocess.CompletedProcess[bytes]
) -> None:
    out = replayed.stdout
    for form in _address_forms(simulated["addresses"]):
        assert form not in out


def test_no_file_under_the_data_dir_contains_an_input_address(
    simulated: dict[str, Any], tmp_path: Path
) -> None:
    """The live sink (the SQLite outbox) fed by the pipeline, then every file scanned."""
    from storeedge.adapters.outbox import Outbox
    from storeedge.config import load_settings
    from storeedge.core.clock import ManualClock
    from storeedge.core.pipeline import Pipeline
    from storeedge.core.ports import NullUi
    from storeedge.core.records import RecordReader
    from storeedge.recording import load_customers, open_lines

    settings = load_settings(simulated["config"])
    profiles, _ = load_customers(simulated["customers"])
    outbox = Outbox(settings.data.dir / "outbox.db", settings.source_uri, synchronous="NORMAL")
    clock = ManualClock(0.0)
    pipeline = Pipeline(settings, clock, outbox, NullUi(), aes128_ecb)
    reader = RecordReader()
    loaded = False
    with open_lines(simulated["recording"]) as lines:
        for line in lines:
            record = reader.parse(line)
            if record is None:
                continue
            clock.set(record.t)
            if not loaded:
                pipeline.load_profiles(profiles)
                loaded = True
            pipeline.on_advert(record)
            pipeline.tick()
    clock.advance(200)
    pipeline.tick()
    assert outbox.flush()
    assert outbox.pending() > 0
    outbox.close()
    forms = _address_forms(simulated["addresses"])
    files = [p for p in settings.data.dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        content = path.read_bytes()
        for form in forms:
            assert form not in content, f"{path.name} holds an address"


def test_record_writes_simulated_scans_and_refuses_the_data_dir(
    simulated: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "capture.jsonl.gz"
    base = [sys.executable, "-m", "storeedge", "record", "--config", str(simulated["config"])]
    done = subprocess.run(
        [*base, "--out", str(out), "--simulate", "rush", "--duration", "2"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert re.search(rb"record: \d+ records written", done.stderr)
    with gzip.open(out, "rt", encoding="utf-8") as lines:
        first = json.loads(next(iter(lines)))
    assert set(first) >= {"t", "scanner", "address", "rssi", "manufacturer_data", "service_data"}
    refused = subprocess.run(
        [*base, "--out", str(simulated["data"] / "x.jsonl"), "--duration", "1"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2


def test_the_device_fixture_replays_to_its_ground_truth(tmp_path: Path) -> None:
    import io

    from storeedge.config import load_settings
    from storeedge.recording import load_customers, open_lines, replay_lines

    fixtures = Path(__file__).parents[2] / "devices" / "fixtures"
    config = tmp_path / "store.toml"
    config.write_text(store_toml(str(tmp_path / "data")), encoding="utf-8")
    profiles, _ = load_customers(fixtures / "simulated-walk.customers.json")
    out = io.BytesIO()
    with open_lines(fixtures / "simulated-walk.jsonl.gz") as lines:
        counts, _ = replay_lines(lines, load_settings(config), profiles, out)
    assert counts["records"] > 10_000
    truth = json.loads((fixtures / "simulated-walk.truth.json").read_text(encoding="utf-8"))
    shoppers = {m["customer_id"] for m in truth["members"] if m["role"] == "shopper"}
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    arrived = {e["data"]["customer_id"] for e in events if e["type"].endswith(".arrived")}
    departed = {e["data"]["customer_id"] for e in events if e["type"].endswith(".departed")}
    assert shoppers <= arrived
    assert shoppers <= departed
