"""Sign-in that cannot be raced or used to exhaust memory; sessions that end.

The tests share one running edge and run in file order: the guessing budget they
spend is the edge's (per address, and store-wide).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio
from edgekit import STAFF_PIN, RunningEdge, cookie_pair, request, running_edge, sign_in
from polling import wait_until

from storeedge.web import auth

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEdge]:
    with running_edge(tmp_path_factory.mktemp("signin")) as running:
        yield running


def burst(edge: RunningEdge, pins_and_sources: list[tuple[str, str]]) -> list[int]:
    """All sign-ins sent at once (a barrier), each on its own connection."""
    statuses: list[int] = [0] * len(pins_and_sources)
    barrier = threading.Barrier(len(pins_and_sources))

    def one(index: int, pin: str, source: str) -> None:
        barrier.wait()
        statuses[index] = sign_in(edge, pin, source, name=f"guess{index}").status

    threads = [
        threading.Thread(target=one, args=(i, pin, source))
        for i, (pin, source) in enumerate(pins_and_sources)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def test_logout_revokes_the_cookie_and_drops_its_socket(edge: RunningEdge) -> None:
    signed = sign_in(edge, STAFF_PIN, source="127.0.0.2")
    assert signed.status == 303
    cookie = cookie_pair(signed.cookies[0])
    assert "HttpOnly" in signed.cookies[0]
    assert "SameSite=Strict" in signed.cookies[0]
    assert request(edge, "GET", "/staff", headers={"Cookie": cookie}).status == 200

    console = socketio.Client(reconnection=False)
    console.connect(
        edge.base, namespaces=["/staff"], headers={"Cookie": cookie}, transports=["websocket"]
    )
    try:
        assert console.connected
        out = request(edge, "POST", "/staff/logout", headers={"Cookie": cookie})
        assert out.status == 303

        again = request(edge, "GET", "/staff", headers={"Cookie": cookie})  # the saved cookie
        assert again.status == 303
        assert again.headers["location"].endswith("/staff/login")
        assert wait_until(lambda: not console.connected, 5)
    finally:
        console.disconnect()
    refused = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect(
            edge.base, namespaces=["/staff"], headers={"Cookie": cookie}, transports=["websocket"]
        )


def test_80_parallel_guesses_from_one_address_evaluate_at_most_the_budget(
    edge: RunningEdge,
) -> None:
    rss_before = edge.status("VmRSS")
    guesses = [(f"{n:04d}", "127.0.0.3") for n in range(80)]  # NB: 2468 is not among them

    statuses = burst(edge, guesses)
    peak_growth_mb = (edge.status("VmHWM") - rss_before) / 1024

    counts = Counter(statuses)
    assert set(counts) <= {401, 429}, counts
    assert counts[401] <= auth.ADDRESS_BURST, counts  # the PINs actually checked
    # One at a time, the rest of the budget: no more than ADDRESS_BURST in all.
    sequential = 0
    while sign_in(edge, "1357", source="127.0.0.3").status == 401:
        sequential += 1
        assert counts[401] + sequential <= auth.ADDRESS_BURST
    # The budget is spent: even the right PIN is refused now, before any hashing.
    assert sign_in(edge, STAFF_PIN, source="127.0.0.3").status == 429
    assert peak_growth_mb < 150, f"peak RSS grew {peak_growth_mb:.0f} MB"
    print(f"80-parallel burst: {counts}, peak RSS +{peak_growth_mb:.0f} MB")  # noqa: T201


def test_many_addresses_share_one_store_wide_budget(edge: RunningEdge) -> None:
    # 80 machines, two guesses each, in waves of 40 so that the checks run, not only refusals.
    statuses: list[int] = []
    for wave in range(4):
        sources = [f"127.0.{10 + wave}.{i}" for i in range(1, 41)]
        statuses += burst(edge, [(f"9{i:03d}", s) for i, s in enumerate(sources)])
        time.sleep(0.3)

    counts = Counter(statuses)
    assert counts[401] <= auth.STORE_BURST, counts
    fresh = sign_in(edge, STAFF_PIN, source="127.0.99.1")  # a new machine, the right PIN
    assert fresh.status == 429
    assert "Traceback" not in edge.log()
    assert "staff sign-in refused (" in edge.log()  # counted, once per REFUSAL_LOG_S
    print(f"160 guesses from 80 addresses: {counts}")  # noqa: T201


def test_the_attack_left_the_service_serving(edge: RunningEdge, tmp_path: Path) -> None:
    health = request(edge, "GET", "/healthz", source="127.0.0.4")
    assert health.status == 200
    assert edge.proc.poll() is None


def test_a_new_pin_applied_by_a_restart_ends_every_session(tmp_path: Path) -> None:
    # NB: the same store directory; cookies do not depend on the port.
    with running_edge(tmp_path) as before:
        signed = sign_in(before, STAFF_PIN, source="127.0.0.2")
        assert signed.status == 303
        cookie = cookie_pair(signed.cookies[0])
        assert request(before, "GET", "/staff", headers={"Cookie": cookie}).status == 200
    with running_edge(tmp_path, pin="135790") as after:
        old = request(after, "GET", "/staff", headers={"Cookie": cookie})
        assert old.status == 303
        assert old.headers["location"].endswith("/staff/login")
        assert sign_in(after, STAFF_PIN, source="127.0.0.2").status == 401
        assert sign_in(after, "135790", source="127.0.0.2").status == 303
