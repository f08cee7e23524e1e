"""Chaos at small counts in the default run; ``soak.py`` runs the acceptance counts.

0 lost, 0 unexpected, every duplicate byte-identical, sequence contiguous, while
the edge publishes at 150 events/s through kill -9, broker kills and link faults.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chaoskit import run_broker_restarts, run_kill9, run_link_faults


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_kill9_of_the_edge_loses_nothing(tmp_path: Path) -> None:
    verdict = run_kill9(tmp_path, kills=5)
    assert verdict.clean, (verdict.line(), verdict.notes)
    assert verdict.events > 500


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_broker_kill_and_restart_loses_nothing(tmp_path: Path) -> None:
    verdict = run_broker_restarts(tmp_path, restarts=3)
    assert verdict.clean, (verdict.line(), verdict.notes)
    assert verdict.out_of_order == 0


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_link_faults_lose_nothing(tmp_path: Path) -> None:
    verdict = run_link_faults(tmp_path, faults=6)
    assert verdict.clean, (verdict.line(), verdict.notes)
    assert verdict.out_of_order == 0
