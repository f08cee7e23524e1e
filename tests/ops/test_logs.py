"""Logging under journald and in a terminal: levels, one timestamp, masked addresses."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import pytest

from storeedge.ops.logs import mask_addresses, setup_logging, under_journald


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_addresses_are_masked_to_their_last_two_bytes() -> None:
    assert mask_addresses("seen 6E:21:9A:0C:44:F1 at -67") == "seen **:**:**:**:44:F1 at -67"
    assert mask_addresses("dash 6e-21-9a-0c-44-f1") == "dash **:**:**:**:44:f1"
    assert mask_addresses("uuid 0000feaa-0000-1000-8000-00805f9b34fb") == (
        "uuid 0000feaa-0000-1000-8000-00805f9b34fb"
    )
    assert mask_addresses("time 14:05:09") == "time 14:05:09"


def test_terminal_lines_carry_time_level_and_masked_arguments() -> None:
    out = io.StringIO()
    setup_logging(stream=out, environ={})
    logging.getLogger("storeedge.test").warning("device %s silent", "6E:21:9A:0C:44:F1")
    line = out.getvalue().strip()
    assert " WARNING storeedge.test: device **:**:**:**:44:F1 silent" in line
    assert line[:4].isdigit()  # NB: a timestamp first


def test_under_journald_lines_carry_the_priority_and_no_timestamp() -> None:
    with tempfile.TemporaryFile("w+") as stream:
        st = os.fstat(stream.fileno())
        env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        assert under_journald(env, stream)  # type: ignore[arg-type]
        setup_logging(stream=stream, environ=env)  # type: ignore[arg-type]
        log = logging.getLogger("storeedge.test")
        log.error("broker down")
        log.info("up")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
        stream.seek(0)
        lines = stream.read().splitlines()
    assert lines[0] == "<3>storeedge.test: broker down"
    assert lines[1] == "<6>storeedge.test: up"
    assert lines[2] == "<3>storeedge.test: failed"
    assert all(line.startswith("<3>") for line in lines[3:])  # the traceback keeps its level
    assert not under_journald({"JOURNAL_STREAM": "1:2"}, sys.stderr)


def test_the_command_line_logs_through_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "storeedge", "doctor", "--config", "/nonexistent.toml"],
        capture_output=True,
        text=True,
        env={**os.environ, "JOURNAL_STREAM": ""},
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
