"""bench/rigging.py at a small size: a target-only campaign through the arena's real vote
admission moves the board with the defences off, and not with the campaign screen on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.no_database  # run once, on SQLite (tests/conftest.py)

GENERATOR = ROOT.parent / "shared" / "bench" / "make_battles.py"


@pytest.mark.skipif(not GENERATOR.exists(), reason=f"needs {GENERATOR} (the shared generator)")
def test_a_target_only_campaign_moves_the_board_unless_the_screen_is_on(tmp_path: Path) -> None:
    out = tmp_path / "rigging.json"
    args = ["--models", "40", "--honest", "20000", "--budget", "1000"]
    args += ["--strategy", "target-only", "--json", str(out)]
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "rigging.py"), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.read_text())
    rows = {r["defences"]: r for r in result["rows"]}
    off, on = rows["off"], rows["on"]
    assert off["target_rank_after"] < off["target_rank_before"]
    gain = off["target_rating_after"] - off["target_rating_before"]
    assert gain > off["target_ci_half_width"]
    moved = abs(on["target_rating_after"] - on["target_rating_before"])
    assert moved < on["target_ci_half_width"]
    assert on["honest_excluded_share"] <= 0.01
    assert result["honest_shift"] < 1.0
