"""Benchmark: what open Leaderboard tabs cost, fitted per tab (before arena/boards.py)
against the deployment's snapshot (one fit, read by every tab and process).

    python bench/boards.py [--battles 2000,20000] [--tabs 20] [--processes 2]

A SQLite database is filled with ``--battles`` voted anonymous battles (20 models,
a first turn each, known true ratings); then ``--tabs`` tab refreshes, spread over
``--processes`` arena processes (:class:`Boards` objects on the one database), ask for
the overall board, as the tabs' timers do once a leaderboard interval. Printed per
size: the CPU seconds of the refreshes per tab before and now, the first fit, a
snapshot read by another process, and the ratio.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from arena.boards import Boards  # noqa: E402
from arena.config import load_config  # noqa: E402
from arena.leaderboard import HistoryFits, leaderboard_view  # noqa: E402
from arena.store import BattleRecord, Store, TurnRecord  # noqa: E402

MODELS = 20


def fill(store: Store, battles: int, seed: int = 0) -> None:
    """``battles`` voted battles, winners drawn from known Bradley–Terry ratings."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(1000, 100, MODELS)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    battle_rows, turn_rows = [], []
    for i in range(battles):
        a, b = rng.choice(MODELS, 2, replace=False)
        p = 1 / (1 + math.exp(-(truth[a] - truth[b]) / (400 / math.log(10))))
        u = rng.random()
        winner = "tie" if u < 0.1 else ("model_a" if u < 0.1 + 0.9 * p else "model_b")
        at = start + timedelta(seconds=60 * i)
        battle_id = str(uuid.uuid4())
        battle_rows.append(
            {
                "id": battle_id,
                "created_at": at,
                "updated_at": at,
                "anony": True,
                "mode": "anony",
                "model_a": f"model-{a:02d}",
                "model_b": f"model-{b:02d}",
                "params": {},
                "state": "voted",
                "turns": 1,
                "winner": winner,
                "voted_at": at,
                "voter_hash": f"voter-{i % 997}",
                "ip_hash": f"ip-{i % 499}",
                "valid": True,
                "tags": [],
                "language": "en" if i % 4 else "fr",
            }
        )
        prompt = f"Question {i % 5000}: tell me about topic {i % 313}."
        for side in ("a", "b"):
            turn_rows.append(
                {
                    "battle_id": battle_id,
                    "turn": 1,
                    "side": side,
                    "prompt": prompt,
                    "answer": "An answer. " * int(5 + (i * 7 + (side == "a")) % 40),
                    "created_at": at,
                }
            )
    with store.session() as s:
        s.execute(BattleRecord.__table__.insert(), battle_rows)  # type: ignore[attr-defined]
        s.execute(TurnRecord.__table__.insert(), turn_rows)  # type: ignore[attr-defined]
        s.commit()


def cpu(fn: object) -> float:
    started = time.process_time()
    fn()  # type: ignore[operator]
    return time.process_time() - started


def measure(battles: int, tabs: int, count: int) -> tuple[float, float, float, float]:
    """CPU seconds of ``tabs`` refreshes fitted per tab, and through the snapshots of
    ``count`` processes; the snapshot's first fit, and its read by another process."""
    config = load_config(None, env={})
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/board.db")
        try:
            fill(store, battles)
            fits: HistoryFits = {}  # a process's past weeks, as Boards keeps them
            leaderboard_view(store, config, fits=fits)  # imports and caches warm
            before = cpu(lambda: [leaderboard_view(store, config, fits=fits) for _ in range(tabs)])
            processes = [Boards(lambda: config, store) for _ in range(count)]
            first = cpu(lambda: processes[0].view())
            read = cpu(lambda: processes[1 % count].view())
            rest = cpu(lambda: [processes[i % count].view() for i in range(tabs)])
            assert sum(p.computed for p in processes) == 1, "one fit for every tab"
        finally:
            store.close()
    return before, first + read + rest, first, read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--battles", default="2000,20000")
    parser.add_argument("--tabs", type=int, default=20)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    print(
        f"{'battles':>8} {'tabs':>5} {'before: CPU s':>14} {'now: CPU s':>11} "
        f"{'first fit s':>12} {'read by another s':>18} {'ratio':>7}"
    )
    for battles in (int(n) for n in args.battles.split(",")):
        before, now, first, read = measure(battles, args.tabs, args.processes)
        print(
            f"{battles:>8,} {args.tabs:>5} {before:>14.2f} {now:>11.2f} {first:>12.2f} "
            f"{read:>18.3f} {before / now:>6.1f}x"
        )


if __name__ == "__main__":
    main()
