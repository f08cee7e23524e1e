"""Inbound payloads: validated whole, applied atomically or rejected with a counted reason."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from synckit import RecordingHandler

from storeedge.adapters.cache import LocalCache
from storeedge.adapters.mqtt_inbound import RETRY_ERASE_S, InboundRouter, Reply, Topics
from storeedge.core.events import encode_json
from storeedge.core.timefmt import format_time

ROOT = "storeedge/v1/store-042"
TOPICS = Topics("store-042", "edge-1")
PRODUCT = {"name": "Robe", "price": 29.99, "currency": "EUR", "stock": 3, "location": "A4"}


REPLIES = f"{ROOT}/edge-1/replies/central-1"


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.cache = LocalCache(tmp / "cache.sqlite")
        self.handler = RecordingHandler()
        self.erased_after: list[str] = []
        self.router = InboundRouter(TOPICS, self.cache, self.handler, self._after_erase)
        self.replies: list[dict[str, Any]] = []
        self.acked: list[str] = []

    def _after_erase(self, customer_id: str) -> bool:
        self.erased_after.append(customer_id)
        return True

    def send(self, topic: str, payload: bytes, reply_to: str | None = REPLIES) -> bool:
        """Hands one message to the router; True if it was acknowledged at once."""
        before = len(self.acked)
        reply = None
        if reply_to is not None:
            reply = Reply(reply_to, lambda b: self.replies.append(json.loads(b)))
        self.router.handle(topic, payload, reply, lambda: self.acked.append(topic))
        return len(self.acked) > before

    def command(self, name: str, data: dict[str, Any], **extra: Any) -> bool:
        reply_to = extra.pop("reply_to", REPLIES)
        event = {
            "specversion": "1.0",
            "id": extra.pop("id", "cmd-1"),
            "source": "/central",
            "type": f"storeedge.command.{name}",
            "data": data,
            **extra,
        }
        return self.send(f"{ROOT}/edge-1/commands/{name}", encode_json(event), reply_to)


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    harness = Harness(tmp_path)
    yield harness
    harness.cache.close()


def test_profile_applies_and_a_bad_update_leaves_the_old_one(
    h: Harness, jean_profile: dict[str, Any]
) -> None:
    topic = f"{ROOT}/customers/C-000123"
    assert h.send(topic, encode_json(jean_profile))
    assert [p.display_name for p in h.cache.profiles()] == ["Jean"]
    broken = {
        **jean_profile,
        "display_name": "Jeanne",
        "ble": {"kind": "eid", "identity_key": "zz"},
    }
    assert h.send(topic, encode_json(broken))  # acknowledged: retrying will not fix it
    assert [p.display_name for p in h.cache.profiles()] == ["Jean"]  # never applied in part
    assert h.router.counters["customers.rejected.ble.identity_key"] == 1


def test_profile_under_the_wrong_topic_is_rejected(
    h: Harness, jean_profile: dict[str, Any]
) -> None:
    h.send(f"{ROOT}/customers/C-999999", encode_json(jean_profile))
    assert h.cache.profiles() == []
    assert h.router.counters["customers.rejected.customer_id"] == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{", "json"),
        (b"[1, 2]", "profile"),
        (b'{"customer_id": NaN}', "json"),
        (b"[" * 5000 + b"]" * 5000, "json"),
        (b'{"customer_id": "C-000123", "x": "' + b"a" * 300_000 + b'"}', "oversized"),
        (b'{"customer_id": "C-000123", "loyalty": {"points": "many"}}', "loyalty.points"),
        (b'{"customer_id": "C-000123", "vip": 1}', "vip"),
    ],
)
def test_hostile_profiles_are_counted_by_reason(h: Harness, payload: bytes, reason: str) -> None:
    assert h.send(f"{ROOT}/customers/C-000123", payload)
    assert h.router.counters[f"customers.rejected.{reason}"] == 1, h.router.counters
    assert h.cache.profiles() == []


def test_empty_customer_payload_erases(h: Harness, jean_profile: dict[str, Any]) -> None:
    h.send(f"{ROOT}/customers/C-000123", encode_json(jean_profile))
    h.send(f"{ROOT}/customers/C-000123", b"")
    assert h.cache.profiles() == []
    assert h.handler.erased == ["C-000123"]
    assert h.erased_after == ["C-000123"]


def test_an_erasure_the_core_did_not_confirm_is_held_and_later_messages_wait_behind_it(
    h: Harness, jean_profile: dict[str, Any]
) -> None:
    topic = f"{ROOT}/customers/C-000123"
    h.send(topic, encode_json(jean_profile))
    core_answers = False

    def erase(customer_id: str) -> None:
        if customer_id == "C-000123" and not core_answers:
            raise TimeoutError("core did not answer")
        h.handler.erased.append(customer_id)

    h.handler.on_erase = erase  # type: ignore[method-assign]
    assert not h.send(topic, b"")  # not acknowledged
    assert h.cache.profiles() == []  # the file is clean already
    assert h.erased_after == []  # no scrub asked before the core forgot
    jean_profile["display_name"] = "Jean again"
    assert not h.send(topic, encode_json(jean_profile))  # waits behind the erasure
    assert h.send(f"{ROOT}/customers/C-000999", b"")  # another customer does not wait
    assert h.router.holding == 2
    h.router.retry(time.monotonic() + RETRY_ERASE_S)
    assert h.router.holding == 2  # still not confirmed: still held
    core_answers = True
    h.router.retry(time.monotonic() + 2 * RETRY_ERASE_S)
    assert h.router.holding == 0
    other = f"{ROOT}/customers/C-000999"
    assert h.acked == [topic, other, topic, topic]  # the profile, the other, then both held
    assert h.handler.erased == ["C-000999", "C-000123"]
    assert h.erased_after == ["C-000999", "C-000123"]
    assert [p.display_name for p in h.cache.profiles()] == ["Jean again"]  # in order
    assert h.router.counters["customers.erase_incomplete"] == 2


def test_replies_go_only_under_this_edges_replies_prefix(h: Harness) -> None:
    elsewhere = [
        f"{ROOT}/edge-2/events/customer.arrived",  # another edge's events
        f"{ROOT}/edge-1/events/alert.raised",  # our own events
        f"{ROOT}/edge-1/commands/config.set",  # our own commands (a loop)
        f"{ROOT}/edge-1/status",
        "central/replies/store-042",
        f"{ROOT}/edge-1/replies/",  # the prefix alone is not a topic
        f"{ROOT}/edge-1/replies/#",
    ]
    for n, topic in enumerate(elsewhere):
        assert h.command("pairing.claim", {"kiosk": "k-1"}, id=f"c-{n}", reply_to=topic)
    assert h.replies == []
    assert h.handler.commands == []  # refused whole, not run without its reply
    assert h.router.counters["commands.rejected.response_topic"] == len(elsewhere)
    h.command("pairing.claim", {"kiosk": "k-1"}, id="c-ok")
    assert [r["command_id"] for r in h.replies] == ["c-ok"]
    h.command("pairing.claim", {"kiosk": "k-1"}, id="c-none", reply_to=None)  # MQTT 3.1.1
    assert len(h.handler.commands) == 2


def test_config_versions_are_bounded(h: Harness) -> None:
    h.command("config.set", {"version": 2**53 - 1, "settings": {"a": 1}}, id="forged")
    assert h.cache.config() is None
    assert h.router.counters["commands.rejected.data.version"] == 1
    assert h.replies == []  # a rejected command is counted, not answered
    h.command("config.set", {"version": 2**31 - 1, "settings": {"a": 2}}, id="top")
    assert h.cache.config() == (2**31 - 1, {"a": 2})


def test_catalog_product_apply_update_remove(h: Harness) -> None:
    topic = f"{ROOT}/catalog/ROBE-ROSE-8A"
    h.send(topic, encode_json(PRODUCT))
    assert h.cache.product("ROBE-ROSE-8A") == {"sku": "ROBE-ROSE-8A", **PRODUCT, "image": None}
    h.send(topic, encode_json({**PRODUCT, "price": -1}))
    assert h.cache.product("ROBE-ROSE-8A")["price"] == 29.99  # type: ignore[index]
    assert h.router.counters["catalog.rejected.price"] == 1
    h.send(topic, encode_json({**PRODUCT, "currency": "euro"}))
    assert h.router.counters["catalog.rejected.currency"] == 1
    h.send(topic, b"")
    assert h.cache.product("ROBE-ROSE-8A") is None
    assert h.handler.catalog["ROBE-ROSE-8A"] is None


def test_commands_run_once_by_id_and_repeat_their_reply(h: Harness) -> None:
    h.command("pairing.claim", {"kiosk": "k-1"}, id="cmd-7")
    h.command("pairing.claim", {"kiosk": "k-1"}, id="cmd-7")
    assert len(h.handler.commands) == 1
    assert h.replies[0] == h.replies[1]
    assert h.replies[0]["command_id"] == "cmd-7"
    assert h.router.counters["commands.duplicate"] == 1


def test_expired_commands_never_run(h: Harness) -> None:
    h.command("pairing.claim", {}, id="old", expirytime=format_time(time.time() - 5))
    assert h.handler.commands == []
    assert h.replies == [{"command_id": "old", "status": "expired", "reason": ""}]
    h.command("pairing.claim", {}, id="old", expirytime=format_time(time.time() + 60))
    assert h.handler.commands == []  # the id is spent


def test_config_applies_only_when_newer(h: Harness) -> None:
    h.command("config.set", {"version": 3, "settings": {"greeting": "on"}}, id="c3")
    h.command("config.set", {"version": 2, "settings": {"greeting": "off"}}, id="c2")
    h.command("config.set", {"version": 3, "settings": {"greeting": "off"}}, id="c3b")
    assert h.cache.config() == (3, {"greeting": "on"})
    assert [(r["status"], r["reason"]) for r in h.replies][1:] == [("rejected", "stale")] * 2
    assert len(h.handler.commands) == 1
    h.command("config.set", {"version": "4", "settings": {}}, id="c4")
    assert h.router.counters["commands.rejected.data.version"] == 1


def test_a_command_is_committed_before_it_runs(h: Harness) -> None:
    seen: list[list[tuple[str, str, bytes]]] = []
    h.handler.on_command = lambda name, event: seen.append(h.cache.inbox_pending()) or None  # type: ignore[method-assign]
    h.command("pairing.claim", {}, id="cmd-9")
    assert seen[0][0][0] == "cmd-9"  # in the inbox, pending, while it runs
    assert h.cache.inbox_pending() == []


def test_pending_commands_resume_after_a_crash(h: Harness) -> None:
    payload = encode_json(
        {"specversion": "1.0", "id": "c-x", "source": "/central", "type": "t", "data": {}}
    )
    h.cache.inbox_record("c-x", "pairing.claim", payload, time.time(), None, "pending")
    assert h.router.resume_pending() == 1
    assert [n for n, _e in h.handler.commands] == ["pairing.claim"]


def test_topics_outside_ours_are_counted(h: Harness) -> None:
    h.send("storeedge/v1/other-store/customers/C-1", b"{}")
    h.send(f"{ROOT}/edge-1/commands/BAD NAME", b"{}")
    assert h.router.counters["unknown.rejected"] == 1
    assert h.router.counters["commands.rejected"] == 1


# --- fuzzing -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)
topics = st.sampled_from(
    [
        f"{ROOT}/customers/C-000123",
        f"{ROOT}/catalog/ROBE-ROSE-8A",
        f"{ROOT}/edge-1/commands/pairing.claim",
        f"{ROOT}/edge-1/commands/config.set",
    ]
)


def _mutations(jean: dict[str, Any]) -> st.SearchStrategy[bytes]:
    def mutate(path_value: tuple[list[str], Any]) -> bytes:
        keys, value = path_value
        doc = json.loads(json.dumps(jean))
        target = doc
        for key in keys[:-1]:
            target = target.setdefault(key, {}) if isinstance(target, dict) else target
        if isinstance(target, dict) and keys:
            target[keys[-1]] = value
        return encode_json(doc)

    fields = st.sampled_from(
        [
            ["display_name"],
            ["consent", "recognition"],
            ["ble", "identity_key"],
            ["ble", "kind"],
            ["qr", "totp_secret"],
            ["orders"],
            ["cart", "lines"],
            ["loyalty", "points"],
            ["wishlist"],
        ]
    )
    return st.tuples(fields, json_values).map(mutate)


@seed(20261123)
@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_fuzzed_payloads_never_crash_and_valid_ones_still_apply(
    h: Harness, jean_profile: dict[str, Any], data: st.DataObject
) -> None:
    topic = data.draw(topics)
    payload = data.draw(
        st.one_of(
            st.binary(max_size=300),
            json_values.map(lambda v: json.dumps(v).encode()),
            _mutations(jean_profile),
        )
    )
    assert h.send(topic, payload) in (True, False)
    total_rejected = sum(v for k, v in h.router.counters.items() if k.endswith(".rejected"))
    assert (
        total_rejected
        + sum(
            v
            for k, v in h.router.counters.items()
            if k.endswith((".applied", ".erased", ".removed", ".run", ".duplicate", ".expired"))
        )
        >= 1
    )
    assert not any(k.endswith("internal_error") for k in h.router.counters), h.router.counters
    assert h.send(f"{ROOT}/customers/C-000123", encode_json(jean_profile))
    assert "C-000123" in h.cache.profile_ids()
