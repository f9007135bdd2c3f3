"""Tokens per second of the configured models, measured through the arena's own battle path.

    python bench/local_models.py [--config arena.toml] [--battles 3]

Each battle streams both models at once (as voters see them), so the numbers are
per model while sharing the machine with the other side.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path

from arena.app import Arena
from arena.battles import Voter
from arena.config import load_config

PROMPTS = [
    "Explain in a short paragraph why the sky is blue.",
    "Write a Python function that checks whether a number is prime.",
    "Give three tips for learning a new language.",
]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config")
    parser.add_argument("--battles", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(args.config, overrides={"db": f"sqlite:///{Path(folder) / 'b.db'}"})
        arena = Arena.create(config)
        await arena.start()
        voter = Voter("bench")
        speed: dict[str, list[float]] = defaultdict(list)
        ttft: dict[str, list[float]] = defaultdict(list)
        try:
            for k in range(args.battles):
                battle_id = await arena.battles.start_battle(voter)
                async for _ in arena.battles.stream_turn(
                    battle_id, PROMPTS[k % len(PROMPTS)], voter
                ):
                    pass
                battle = arena.store.battle(battle_id)
                for t in arena.store.turns(battle_id):
                    model = battle.model_a if t.side == "a" else battle.model_b
                    if t.completion_tokens and t.total_s and t.ttft_s is not None:
                        speed[model].append((t.completion_tokens - 1) / (t.total_s - t.ttft_s))
                        ttft[model].append(t.ttft_s)
        finally:
            await arena.stop()
    print(f"{'model':32} {'tokens/s':>9} {'first token s':>14}  answers")
    for model in sorted(speed):
        print(
            f"{model:32} {statistics.median(speed[model]):9.1f} "
            f"{statistics.median(ttft[model]):14.2f}  {len(speed[model])}"
        )


if __name__ == "__main__":
    asyncio.run(main())
