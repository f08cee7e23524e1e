"""The personal space over the /kiosk namespace: opened by an explicit act, every act
checked on the server, closed and forgotten."""

from __future__ import annotations

import copy
from typing import Any

from kioskkit import member_code, next_code, scan, tick
from webharness import Stack

from storeedge.core.kiosk_sessions import IDLE_GRACE_S


def kiosk_client(stack: Stack, kiosk_id: str = "kiosk-1") -> Any:
    client = stack.kiosk_socket(kiosk_id)  # NB: from a browser enrolled as that kiosk
    assert client.is_connected("/kiosk")
    return client


def received(client: Any, name: str) -> list[dict[str, Any]]:
    return [r["args"][0] for r in client.get_received("/kiosk") if r["name"] == name]


def events(stack: Stack, event_type: str) -> list[dict[str, Any]]:
    return [dict(e.data) for e in stack.events.events if e.type == event_type]


def open_space(stack: Stack, profile: dict[str, Any], client: Any) -> dict[str, Any]:
    assert scan(stack, profile) is None
    (space,) = received(client, "space")
    return space


def act(client: Any, name: str, **data: Any) -> dict[str, Any]:
    reply: dict[str, Any] = client.emit(name, data, namespace="/kiosk", callback=True)
    return reply


def test_member_card_opens_the_space_with_web_price_stock_and_place(
    kstack: Stack, jean_profile: dict[str, Any]
) -> None:
    client = kiosk_client(kstack)
    elsewhere = kiosk_client(kstack, "kiosk-2")

    space = open_space(kstack, jean_profile, client)

    wishlist = {w["sku"]: w for w in space["wishlist"]}
    assert wishlist["ROBE-ROSE-8A"]["price_minor"] == 2999
    assert wishlist["ROBE-ROSE-8A"]["stock"] == "low"
    assert wishlist["ROBE-ROSE-8A"]["location"] == "Allée 4, Enfants"
    assert wishlist["PULL-MARIN-M"]["stock"] == "in_stock"
    assert wishlist["BASKET-BLANC-38"]["orderable_elsewhere"] is True
    assert (space["first_name"], space["tier"], space["points"]) == ("Jean", "gold", 1240)
    assert space["cart"]["version"] == 7
    assert [line["sku"] for line in space["cart"]["lines"]] == ["ROBE-ROSE-8A"]
    assert received(elsewhere, "space") == []
    (started,) = events(kstack, "storeedge.kiosk.session_started")
    assert (started["kiosk_id"], started["method"]) == ("kiosk-1", "qr")
    (arrived,) = events(kstack, "storeedge.customer.arrived")
    assert (arrived["via"], arrived["zone"]) == ("qr", "kiosk")


def test_cart_add_and_remove_bump_the_version_and_are_events(
    kstack: Stack, jean_profile: dict[str, Any]
) -> None:
    client = kiosk_client(kstack)
    session = open_space(kstack, jean_profile, client)["session_id"]

    assert act(client, "add_to_cart", session=session, sku="PULL-MARIN-M", qty=2) == {"ok": True}
    (update,) = received(client, "space_update")
    added = next(x for x in update["cart"]["lines"] if x["sku"] == "PULL-MARIN-M")
    assert act(client, "remove_line", session=session, line_id=added["line_id"]) == {"ok": True}

    (line_added,) = events(kstack, "storeedge.cart.line_added")
    (line_removed,) = events(kstack, "storeedge.cart.line_removed")
    assert line_added["cart_version"] == 8
    assert line_added["line"] == {"line_id": added["line_id"], "sku": "PULL-MARIN-M", "qty": 2}
    assert line_removed["cart_version"] == 9
    assert line_removed["line"]["sku"] == "PULL-MARIN-M"
    assert received(client, "space_update")[-1]["cart"]["version"] == 9


def test_every_act_is_checked_on_the_server(kstack: Stack, jean_profile: dict[str, Any]) -> None:
    client = kiosk_client(kstack)
    other = kiosk_client(kstack, "kiosk-2")
    session = open_space(kstack, jean_profile, client)["session_id"]
    refusals = {
        "unknown_product": act(client, "add_to_cart", session=session, sku="ROLEX-1", qty=1),
        "bad_quantity": act(client, "add_to_cart", session=session, sku="PULL-MARIN-M", qty=11),
        "already_in_cart": act(client, "add_to_cart", session=session, sku="ROBE-ROSE-8A"),
        "bad_request": act(client, "add_to_cart", session=session, sku="PULL-MARIN-M", qty="2"),
        "unknown_line": act(client, "remove_line", session=session, line_id="L99"),
        "unknown_order": act(client, "pickup_here", session=session, order_id="O-1"),
        "not_ready": act(client, "pickup_here", session=session, order_id="O-97002"),
        "not_returnable": act(
            client,
            "request_return",
            session=session,
            order_id="O-98121",
            skus=["JEAN-SLIM-32"],
            reason="too_small",
        ),
        "bad_lines": act(
            client,
            "request_return",
            session=session,
            order_id="O-97002",
            skus=["JEAN-SLIM-32"],
            reason="too_small",
        ),
        "bad_fulfilment": act(
            client, "request_order", session=session, sku="BASKET-BLANC-38", fulfilment="drone"
        ),
        "no_space": act(client, "add_to_cart", session="forged", sku="PULL-MARIN-M"),
    }
    # kiosk-2's page, even with kiosk-1's session id, acts on nothing
    stolen = act(other, "add_to_cart", session=session, sku="PULL-MARIN-M")

    assert {k: v.get("reason") for k, v in refusals.items()} == {k: k for k in refusals}
    assert stolen == {"ok": False, "reason": "no_space"}
    assert events(kstack, "storeedge.cart.line_added") == []
    assert events(kstack, "storeedge.return.requested") == []


def test_orders_returns_endless_aisle_advisor_and_handoff(
    kstack: Stack, jean_profile: dict[str, Any]
) -> None:
    client = kiosk_client(kstack)
    session = open_space(kstack, jean_profile, client)["session_id"]

    assert act(client, "pickup_here", session=session, order_id="O-98121")["ok"]
    assert act(
        client,
        "request_return",
        session=session,
        order_id="O-97002",
        skus=["ROBE-ROSE-10A"],
        reason="too_small",
    )["ok"]
    assert act(
        client,
        "request_return",
        session=session,
        order_id="O-97002",
        skus=["ROBE-ROSE-10A"],
        reason="too_small",
    ) == {"ok": False, "reason": "already_requested"}
    assert act(
        client,
        "request_order",
        session=session,
        sku="BASKET-BLANC-38",
        qty=1,
        fulfilment="ship_to_home",
    )["ok"]
    assert act(client, "call_advisor", session=session)["ok"]
    assert act(client, "call_advisor", session=session)["reason"] == "already_called"
    assert act(client, "handoff", session=session)["ok"]

    kinds = {(a.kind, a.zone, dict(a.details).get("order_id")) for a in kstack.open_alerts()}
    assert ("advisor", "kiosk", None) in kinds
    assert ("pickup", "kiosk", "O-98121") in kinds
    (returned,) = events(kstack, "storeedge.return.requested")
    assert returned["lines"] == [{"sku": "ROBE-ROSE-10A", "qty": 1}]
    assert returned["reason"] == "too_small"
    (ordered,) = events(kstack, "storeedge.order.requested")
    assert (ordered["fulfilment"], ordered["lines"]) == (
        "ship_to_home",
        [{"sku": "BASKET-BLANC-38", "qty": 1}],
    )
    (issued,) = events(kstack, "storeedge.kiosk.handoff_issued")
    got = client.get_received("/kiosk")
    (handoff,) = [r["args"][0] for r in got if r["name"] == "handoff"]
    assert handoff["payload"] == f"HTTPS://APP.STOREEDGE.EXAMPLE/H/{issued['token']}"
    http = kstack.enrolled_client()
    image = http.get(handoff["image"])
    assert (image.status_code, image.mimetype) == (200, "image/png")
    assert http.get("/kiosk/kiosk-1/qr/handoff/NOTATOKEN.png").status_code == 404
    last = [r["args"][0] for r in got if r["name"] == "space_update"][-1]
    orders = {o["order_id"]: o for o in last["orders"]}
    assert orders["O-98121"]["pickup_requested"]
    assert orders["O-97002"]["return_requested"]
    assert last["advisor_called"] is True


def test_refused_codes_show_a_notice_and_are_braked(
    kstack: Stack, jean_profile: dict[str, Any]
) -> None:
    client = kiosk_client(kstack)
    good = member_code(jean_profile, kstack.clock.now())
    assert scan(kstack, jean_profile, "SE1:M:C-000123:00000000") == "bad_code"
    assert scan(kstack, jean_profile, good) is None
    assert scan(kstack, jean_profile, good) == "already_used"
    assert scan(kstack, jean_profile, "<script>alert(1)</script>") == "malformed"
    notices = received(client, "notice")
    assert [n["key"] for n in notices] == [
        "kiosk.notice.code_refused",
        "kiosk.notice.code_used",
        "kiosk.notice.code_refused",
    ]
    assert scan(kstack, jean_profile, "SE1:M:C-000123:11111111") == "bad_code"
    # three failures for Jean's id: his next good code waits a minute
    assert scan(kstack, jean_profile, next_code(kstack, jean_profile)) == "rate_limited"
    assert received(client, "notice")[-1]["key"] == "kiosk.notice.rate_limited"
    tick(kstack, 61.0)
    assert scan(kstack, jean_profile, next_code(kstack, jean_profile)) is None


def test_idle_warning_stay_then_close_and_forget(
    kstack: Stack, jean_profile: dict[str, Any]
) -> None:
    client = kiosk_client(kstack)
    session = open_space(kstack, jean_profile, client)["session_id"]
    idle_s = kstack.settings.kiosks[0].idle_s

    tick(kstack, idle_s + 0.5)
    assert received(client, "idle_warning") == [{"seconds": IDLE_GRACE_S}]
    assert act(client, "stay", session=session) == {"ok": True}
    tick(kstack, IDLE_GRACE_S)
    assert received(client, "space_closed") == []
    tick(kstack, idle_s)
    assert len(received(client, "idle_warning")) == 1
    tick(kstack, IDLE_GRACE_S + 0.5)

    assert received(client, "space_closed") == [{"reason": "idle"}]
    assert act(client, "touch", session=session) == {"ok": False, "reason": "no_space"}
    (ended,) = events(kstack, "storeedge.kiosk.session_ended")
    assert ended["reason"] == "idle"


def test_departure_link_loss_and_erasure_close_the_space(
    kstack: Stack, jean_profile: dict[str, Any]
) -> None:
    client = kiosk_client(kstack)
    open_space(kstack, jean_profile, client)
    kstack.leave("C-000123")
    assert received(client, "space_closed") == [{"reason": "departed"}]

    assert scan(kstack, jean_profile, next_code(kstack, jean_profile)) is None
    client.disconnect(namespace="/kiosk")
    reasons = [e["reason"] for e in events(kstack, "storeedge.kiosk.session_ended")]
    assert reasons == ["departed", "link_lost"]

    client = kiosk_client(kstack)
    assert scan(kstack, jean_profile, next_code(kstack, jean_profile)) is None
    client.get_received("/kiosk")
    kstack.core.call(lambda: kstack.pipeline.erase_customer("C-000123"))
    assert received(client, "space_closed") == [{"reason": "erased"}]
    assert len(events(kstack, "storeedge.kiosk.session_ended")) == 2  # NB: erased: no event


def test_a_newer_cart_from_central_replaces_ours(
    kstack: Stack, jean_profile: dict[str, Any]
) -> None:
    from storeedge.core.profiles import parse_profile

    client = kiosk_client(kstack)
    open_space(kstack, jean_profile, client)
    newer = copy.deepcopy(jean_profile)
    newer["cart"] = {"version": 12, "lines": [{"line_id": "W1", "sku": "JEAN-SLIM-32", "qty": 3}]}

    kstack.gateway.apply_profile(parse_profile(newer))

    (update,) = received(client, "space_update")
    assert update["why"] == "cart_replaced"
    assert update["cart"]["version"] == 12
    assert [(x["sku"], x["qty"]) for x in update["cart"]["lines"]] == [("JEAN-SLIM-32", 3)]


def test_pairing_claim_opens_the_space_once(kstack: Stack) -> None:
    client = kiosk_client(kstack)
    client.emit("sync", namespace="/kiosk")
    (pairing,) = received(client, "pairing")
    nonce = pairing["payload"].rsplit("/", 1)[1]
    http = kstack.enrolled_client()
    assert http.get(pairing["image"]).status_code == 200
    claim = {"kiosk_id": "KIOSK-1", "nonce": nonce, "customer_id": "C-000123"}

    first = kstack.gateway.on_command("pairing.claim", {"id": "c1", "data": claim})
    again = kstack.gateway.on_command("pairing.claim", {"id": "c2", "data": claim})
    foreign = kstack.gateway.on_command(
        "pairing.claim", {"id": "c3", "data": {**claim, "kiosk_id": "kiosk-2"}}
    )
    unknown = kstack.gateway.on_command(
        "pairing.claim", {"id": "c4", "data": {**claim, "nonce": "ZZZZ"}}
    )

    assert first == {"status": "ok"}
    assert again == {"status": "rejected", "reason": "nonce used"}
    assert foreign["status"] == "rejected"
    assert unknown == {"status": "rejected", "reason": "nonce unknown"}
    (space,) = received(client, "space")
    assert space["first_name"] == "Jean"
    assert http.get(pairing["image"]).status_code == 404  # a used nonce is never shown again
    (started,) = events(kstack, "storeedge.kiosk.session_started")
    assert started["method"] == "app"


def test_an_old_pairing_nonce_is_refused(kstack: Stack) -> None:
    client = kiosk_client(kstack)
    client.emit("sync", namespace="/kiosk")
    nonce = received(client, "pairing")[0]["payload"].rsplit("/", 1)[1]
    tick(kstack, 21.0)  # rotated: still good while at most 30 s old
    tick(kstack, 21.0)
    claim = {"kiosk_id": "kiosk-1", "nonce": nonce, "customer_id": "C-000123"}
    reply = kstack.gateway.on_command("pairing.claim", {"id": "c1", "data": claim})
    assert reply["status"] == "rejected"
    assert len(received(client, "pairing")) == 2


def test_store_message_until(kstack: Stack) -> None:
    client = kiosk_client(kstack)
    from storeedge.core.timefmt import format_time

    until = format_time(kstack.clock.now() + 30)
    data = {"text": "Soldes <b>-20 %</b>\u0007", "until": until}
    assert kstack.gateway.on_command("kiosk.message", {"id": "m1", "data": data}) == {
        "status": "ok"
    }
    bad = kstack.gateway.on_command("kiosk.message", {"id": "m2", "data": {"text": "x" * 201}})
    assert bad["status"] == "rejected"
    assert received(client, "store_message") == [{"text": "Soldes <b>-20 %</b>"}]
    tick(kstack, 31.0)
    assert received(client, "store_message") == [{"text": None}]


def test_two_members_at_the_kiosk_are_not_greeted_by_name(
    kiosk_settings: Any, make_stack: Any, jean_profile: dict[str, Any]
) -> None:
    marie = copy.deepcopy(jean_profile)
    marie.update(customer_id="C-000456", display_name="Marie")
    marie["ble"] = {**jean_profile["ble"], "identity_key": "0f0e0d0c0b0a09080706050403020100"}
    stack = make_stack(kiosk_settings, [jean_profile, marie])
    client = kiosk_client(stack)
    stack.walk_to_kiosk(jean_profile)
    assert [g["first_name"] for g in received(client, "greet")] == ["Jean"]

    for _ in range(12):
        stack.advert(jean_profile, "kiosk", -45)
        stack.advert(marie, "kiosk", -45)
        stack.clock.advance(0.25)

    got = client.get_received("/kiosk")
    assert [r["name"] for r in got if r["name"] in ("greet", "clear")] == ["clear"]
    assert "Marie" not in repr(got)


def test_walking_away_from_the_kiosk_closes_the_space(
    kstack: Stack, jean_profile: dict[str, Any]
) -> None:
    client = kiosk_client(kstack)
    kstack.walk_to_kiosk(jean_profile)
    open_space(kstack, jean_profile, client)

    for _ in range(40):
        kstack.walk(jean_profile, "floor", 0.5, rssi=-45)
        if events(kstack, "storeedge.kiosk.session_ended"):
            break

    assert received(client, "space_closed") == [{"reason": "walked_away"}]
    (moved,) = events(kstack, "storeedge.customer.zone_changed")[-1:]
    assert moved["previous_zone"] == "kiosk"
