"""Voted battles written straight into a store, for the tests of the board, the
categories and the public release (tests/test_board.py, test_categories.py,
test_release.py), and the command line they are checked through."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

from arena.gate import Voter
from arena.store import BattleRecord, Store, TurnRecord
from tests.conftest import ROOT

VOTER = Voter("release-voter", "203.0.113.9")
WORDS = (
    "apple river mountain quantum violin desert harbor lantern pepper glacier "
    "thunder marble falcon meadow copper orbit saffron tunnel willow ember canyon "
    "velvet compass walnut prism lagoon cobalt tundra juniper beacon"
).split()


def add(
    store: Store,
    a: str,
    b: str,
    winner: str,
    prompt: str,
    *,
    at: datetime,
    anony: bool = True,
    valid: bool = True,
    language_code: str | None = None,
    turns: int = 1,
    answer_a: str = "Sure.",
) -> str:
    battle_id = str(uuid.uuid4())
    store.add_battle(
        BattleRecord(
            id=battle_id,
            created_at=at,
            anony=anony,
            mode="anony" if anony else "named",
            model_a=a,
            model_b=b,
            state="voted",
            turns=turns,
            winner=winner,
            voted_at=at,
            voter_hash="VOTERHASH-" + battle_id[:6],
            ip_hash="IPHASH-" + battle_id[:6],
            valid=valid,
            language=language_code,
            tags=["demo"] if "demo" in prompt else [],
        )
    )
    for turn in range(1, turns + 1):
        for side, answer in (("a", answer_a), ("b", "Of course!")):
            store.add_turn(
                TurnRecord(battle_id=battle_id, turn=turn, side=side, prompt=prompt, answer=answer)
            )
    return battle_id


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_arena.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
