"""The one poll helper of the test suite: wait for a condition another thread makes true."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    predicate: Callable[[], object], timeout: float = 5.0, every: float = 0.05, step: float = 0.0
) -> bool:
    """True as soon as ``predicate()`` is truthy; False if it still is not after ``timeout``.

    ``every`` (or its older name ``step``) is how long to sleep between two looks.
    """
    pause = step or every
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(pause)
    return bool(predicate())
