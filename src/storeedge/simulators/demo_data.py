"""The demo's store data: Jean, the scripted member, and a few products.

Jean's identity key and K match the Eddystone-EID vectors of CONTRACTS section 2.
"""

from __future__ import annotations

import copy
from typing import Any

JEAN: dict[str, Any] = {
    "customer_id": "C-000123",
    "display_name": "Jean",
    "language": "fr",
    "consent": {
        "recognition": True,
        "staff_alerts": True,
        "personalization": True,
        "version": "2026-01",
        "expires_at": "2099-01-01T00:00:00.000Z",
    },
    "ble": {
        "kind": "eid",
        "identity_key": "000102030405060708090a0b0c0d0e0f",
        "rotation_exponent": 10,
        "clock_offset": 0,
    },
    "qr": {"totp_secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "digits": 8, "period": 30},
    "loyalty": {"tier": "gold", "points": 1240},
    "wishlist": [
        {"sku": "ROBE-ROSE-8A", "added_at": "2026-11-20T19:02:11.000Z", "channel": "web"},
        {"sku": "PULL-MARIN-M", "added_at": "2026-11-21T08:30:00.000Z", "channel": "app"},
        {"sku": "BASKET-BLANC-38", "added_at": "2026-11-22T12:10:00.000Z", "channel": "web"},
    ],
    "cart": {"version": 7, "lines": [{"line_id": "L1", "sku": "ROBE-ROSE-8A", "qty": 1}]},
    "orders": [
        {
            "order_id": "O-98121",
            "kind": "click_and_collect",
            "status": "ready",
            "lines": [{"sku": "JEAN-SLIM-32", "qty": 1}],
            "pickup": {"point": "counter-A"},
        },
        {
            "order_id": "O-97002",
            "kind": "delivery",
            "status": "delivered",
            "returnable_until": "2099-12-20T00:00:00.000Z",
            "lines": [{"sku": "ROBE-ROSE-10A", "qty": 1}],
        },
    ],
    "vip": False,
}

# Prices are integer minor units (2999 = 29,99 EUR). BASKET-BLANC-38 is on Jean's
# wishlist and not in this store (stock 0): the kiosk's endless aisle.
CATALOG: dict[str, dict[str, Any]] = {
    "ROBE-ROSE-8A": {
        "name": "Robe rose, 8 ans",
        "price": 2999,
        "currency": "EUR",
        "stock": 3,
        "location": "Allée 4, Enfants",
        "image": None,
    },
    "ROBE-ROSE-10A": {
        "name": "Robe rose, 10 ans",
        "price": 2999,
        "currency": "EUR",
        "stock": 0,
        "location": "Allée 4, Enfants",
        "image": None,
    },
    "JEAN-SLIM-32": {
        "name": "Jean slim, 32",
        "price": 4990,
        "currency": "EUR",
        "stock": 12,
        "location": "Allée 2, Hommes",
        "image": None,
    },
    "PULL-MARIN-M": {
        "name": "Pull marin, taille M",
        "price": 5990,
        "currency": "EUR",
        "stock": 8,
        "location": "Allée 1, Femmes",
        "image": None,
    },
    "BASKET-BLANC-38": {
        "name": "Baskets blanches, 38",
        "price": 7900,
        "currency": "EUR",
        "stock": 0,
        "location": None,
        "image": None,
    },
}


def jean() -> dict[str, Any]:
    return copy.deepcopy(JEAN)


DEMO_TOML = """\
# Written by `storeedge demo`: a small store, plaintext MQTT to a private broker.
[store]
id = "store-042"
edge_id = "edge-1"
name = "Démo Lyon Part-Dieu"
door = [10.0, 0.0]

[mqtt]
host = "127.0.0.1"
port = {mqtt_port}
tls = false   # a private broker on loopback, started by the demo

[data]
dir = "{data_dir}"

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

[[scanners]]
id = "kiosk"
zone = "kiosk"
role = "kiosk"
position = [3.0, 6.0]

[[scanners]]
id = "counter"
zone = "counter"
role = "counter"
position = [15.0, 12.0]

[[kiosks]]
id = "kiosk-1"
zone = "kiosk"
language = "fr"

[[pickup_points]]
id = "counter-A"
name = "Comptoir retraits"

# kiosk-1's member-card reader; in the demo the control page (/demo) types into it
[[qr_scanners]]
id = "kiosk-qr"
kind = "simulated"
zone = "kiosk"
kiosk = "kiosk-1"
"""
