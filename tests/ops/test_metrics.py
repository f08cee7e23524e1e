"""GET /metrics on a running `storeedge run --simulate walk`, parsed (CONTRACTS 9)."""

from __future__ import annotations

import re
import signal
import urllib.request
from pathlib import Path
from typing import Any

from polling import wait_until
from prometheus_client.parser import text_string_to_metric_families

from storeedge.adapters.broker import PrivateMosquitto
from storeedge.ops.metrics import (
    EdgeMetrics,
    Snapshot,
    dropped_by_lane,
    is_loopback,
    rejected_by_reason,
)
from tests.ops.opskit import free_port, running_service, write_config

CONTRACT_FAMILIES = {
    "storeedge_mqtt_connected": ("gauge", set()),
    "storeedge_outbox_pending": ("gauge", {"lane"}),
    "storeedge_outbox_oldest_age_seconds": ("gauge", set()),
    "storeedge_events": ("counter", {"type"}),
    "storeedge_adverts": ("counter", {"scanner"}),
    "storeedge_scanner_up": ("gauge", {"scanner"}),
    "storeedge_visits_open": ("gauge", set()),
    "storeedge_alerts_open": ("gauge", {"kind"}),
    "storeedge_inbound_rejected": ("counter", {"reason"}),
}
MAC = re.compile(r"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}")


def scrape(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(families: dict[str, Any], name: str, **labels: str) -> float | None:
    family = families.get(name.removesuffix("_total"))
    for s in family.samples if family else ():
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    return None


def test_metrics_of_a_running_edge_have_every_family_and_no_customer_in_labels(
    tmp_path: Path, mosquitto: PrivateMosquitto
) -> None:
    port = free_port()
    config = write_config(tmp_path, web_port=port, mqtt_port=mosquitto.port)
    url = f"http://127.0.0.1:{port}/metrics"
    with running_service(config, {}, tmp_path / "run.log") as proc:

        def arrived() -> bool:
            try:
                got = scrape(url)
            except OSError:
                return False
            return (
                sample(got, "storeedge_events_total", type="storeedge.customer.arrived") or 0
            ) >= 1

        assert wait_until(arrived, 60, step=0.5), (tmp_path / "run.log").read_text()[-3000:]
        families = scrape(url)
        for name, (kind, labels) in CONTRACT_FAMILIES.items():
            assert name in families, name
            assert families[name].type == kind, name
            for s in families[name].samples:
                assert set(s.labels) == labels, (name, s.labels)
        assert sample(families, "storeedge_mqtt_connected") == 1.0
        assert sample(families, "storeedge_visits_open") == 1.0
        assert sample(families, "storeedge_core_up") == 1.0
        assert (sample(families, "storeedge_adverts_total", scanner="entrance") or 0) > 0
        assert sample(families, "storeedge_scanner_up", scanner="entrance") == 1.0
        assert sample(families, "storeedge_outbox_pending", lane="critical") is not None
        assert sample(families, "storeedge_kiosk_connected", kiosk="kiosk-1") == 0.0
        assert "process_resident_memory_bytes" in families
        for family in families.values():
            for s in family.samples:
                for value in s.labels.values():
                    assert "C-" not in value
                    assert "Jean" not in value
                    assert not MAC.search(value)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    log = (tmp_path / "run.log").read_text()
    assert "arrival visit=" in log  # the core's own line
    assert "alert.raised alert_id=" in log  # the activity log's
    assert "C-000123" not in log
    assert "Jean" not in log


def test_only_loopback_clients_get_metrics() -> None:
    from flask import Flask

    from storeedge.ops.metrics import flask_view

    app = Flask("t")
    app.add_url_rule("/metrics", "metrics", flask_view(EdgeMetrics(Snapshot)))
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.168.1.20"}).status_code == 404
    assert not is_loopback(None)
    assert not is_loopback("nonsense")


def test_a_failing_snapshot_still_renders_with_core_down() -> None:
    def broken() -> Snapshot:
        raise RuntimeError("boom")

    text = EdgeMetrics(broken).render().decode()
    assert "storeedge_core_up 0.0" in text
    assert "# TYPE storeedge_visits_open gauge" in text


def test_reason_and_lane_keys_are_folded_into_bounded_labels() -> None:
    assert rejected_by_reason(
        {"customers.rejected.bad_json": 2, "customers.rejected": 2, "commands.run": 5}
    ) == {"customers.bad_json": 2}
    assert dropped_by_lane({"analytics.disk_full": 3, "analytics.policy": 1}) == {"analytics": 4}


def test_process_family_survives_a_hidden_proc_stat(tmp_path: Path) -> None:
    """The unit's ProcSubset=pid hides /proc/stat; the process family must stay."""
    (tmp_path / "self").symlink_to("/proc/self")
    text = EdgeMetrics(Snapshot, proc=str(tmp_path)).render().decode()
    assert "process_resident_memory_bytes" in text
    assert "process_start_time_seconds" in text
