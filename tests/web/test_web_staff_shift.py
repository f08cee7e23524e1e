"""A clerk's sign-in lasts one shift (``[web] staff_shift_h``); the staff config keys."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import pytest
from webharness import STAFF_PIN, Stack

from storeedge.config import ConfigError, Settings


def test_a_sign_in_ends_with_the_shift(
    pin_settings: Settings, make_stack: Callable[..., Stack]
) -> None:
    # NB: a one-second shift (the config's floor is an hour) keeps the test short.
    short = dataclasses.replace(
        pin_settings, web=dataclasses.replace(pin_settings.web, staff_shift_h=1 / 3600)
    )
    stack = make_stack(short)
    client = stack.web.app.test_client()
    assert client.post("/staff/login", data={"name": "Marie", "pin": STAFF_PIN}).status_code == 303
    assert client.get("/staff").status_code == 200
    assert stack.web.app.permanent_session_lifetime.total_seconds() == 1

    time.sleep(1.2)  # the shift is over

    response = client.get("/staff")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/login")
    socket = stack.web.socketio.test_client(
        stack.web.app, namespace="/staff", flask_test_client=client
    )
    assert not socket.is_connected("/staff")


def test_staff_config_keys(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        extra='[web]\nstaff_shift_h = 8\n\n[[pickup_points]]\nid = "counter-A"\n'
        'name = "Comptoir retraits"\n'
    )
    assert settings.web.staff_shift_h == 8
    assert [(p.id, p.name) for p in settings.pickup_points] == [("counter-A", "Comptoir retraits")]
    assert make_settings().web.staff_shift_h == 12  # default: one long shift


@pytest.mark.parametrize(
    "extra",
    [
        "[web]\nstaff_shift_h = 0\n",
        "[web]\nstaff_shift_h = 25\n",
        '[[pickup_points]]\nid = "counter-A"\n',
        '[[pickup_points]]\nid = "counter-A"\nname = "A"\ncolour = "red"\n',
        '[[pickup_points]]\nid = "A"\nname = "x"\n\n[[pickup_points]]\nid = "A"\nname = "y"\n',
        '[[pickup_points]]\nid = "A"\nname = "' + "n" * 41 + '"\n',
    ],
)
def test_bad_staff_config_is_an_error(make_settings: Callable[..., Settings], extra: str) -> None:
    with pytest.raises(ConfigError):
        make_settings(extra=extra)
