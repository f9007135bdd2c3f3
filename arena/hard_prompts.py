"""Hard prompts: a judge model labels each battle's first prompt with the seven criteria
of LMArena's "hard prompts" category (specificity, domain knowledge, complexity,
problem-solving, creativity, technical accuracy, real-world application). A prompt that
meets at least :data:`HARD_AT` of them gets the battle tag ``hard``, so the board offers
``tag:hard``.

A batch job (``run_arena.py battles hard-prompts --judge MODEL``), never part of the
voting path: it asks the judge a few prompts at a time, keeps every answer in the
``prompt_labels`` table (one row per battle and judge) as it goes, and so resumes where
it stopped; ``--retry`` asks again where the judge's answer could not be read.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlmodel import select

from arena.backends import Backend, Usage
from arena.content import Message
from arena.store import Store
from arena.store.tables import BattleRecord, PromptLabelRecord, TurnRecord
from arena.words import BattleState, Side

__all__ = ["CRITERIA", "HARD_AT", "judge_prompt", "label_battles", "read_criteria"]

CRITERIA = (
    "Specificity: does the prompt ask for a specific output?",
    "Domain knowledge: does the prompt cover one or more specific domains?",
    "Complexity: does the prompt have multiple levels of reasoning, components or variables?",
    "Problem-solving: does the prompt directly involve the AI to demonstrate active "
    "problem-solving skills?",
    "Creativity: does the prompt involve a level of creativity in approaching the problem?",
    "Technical accuracy: does the prompt require technical accuracy in the response?",
    "Real-world application: does the prompt relate to real-world applications?",
)
HARD_AT = 6  # criteria met for a hard prompt (LMArena: 6 of 7)
TAG = "hard"
CONCURRENT = 4
MAX_PROMPT_CHARS = 4000


def judge_prompt(prompt: str) -> str:
    """What the judge is asked about one prompt (the prompt comes last)."""
    listed = "\n".join(f"{i}. {c}" for i, c in enumerate(CRITERIA, start=1))
    return (
        "Your task is to evaluate how well the following input prompt can assess the "
        "capabilities of advanced AI assistants, by the criteria below. Check each one, "
        "then end your answer with a JSON object listing the numbers of the criteria the "
        'prompt meets, like {"criteria": [N, ...]}.\n\n'
        f"{listed}\n\nInput prompt:\n<prompt>\n{prompt[:MAX_PROMPT_CHARS]}\n</prompt>"
    )


_OBJECT = re.compile(r'\{\s*"criteria"\s*:\s*\[([\d,\s]*)\]\s*\}')


def read_criteria(answer: str) -> list[int] | None:
    """The criteria numbers in the judge's last ``{"criteria": [...]}``, or None."""
    found = _OBJECT.findall(answer)
    if not found:
        return None
    numbers = sorted({int(n) for n in re.findall(r"\d+", found[-1])})
    return [n for n in numbers if 1 <= n <= len(CRITERIA)]


async def label_battles(
    store: Store,
    judge: Backend,
    judge_name: str,
    *,
    limit: int = 0,
    retry: bool = False,
    say: Callable[[str], None] = print,
) -> dict[str, int]:
    """Label the voted battles this judge has not labelled yet (``retry``: also those
    whose answer could not be read), at most ``limit`` (0: all); returns counts."""
    todo = await asyncio.to_thread(_todo, store, judge_name, retry, limit)
    done = {"battles": 0, "hard": 0, "unreadable": 0, "left": len(todo)}
    say(f"{len(todo):,} battle(s) to label with {judge_name}")
    slots = asyncio.Semaphore(CONCURRENT)

    async def one(battle_id: str, prompt: str) -> None:
        async with slots:
            answer = ""
            async for chunk in judge.stream(
                [Message.user(judge_prompt(prompt))],
                {"temperature": 0.0, "max_tokens": 512},
            ):
                if not isinstance(chunk, Usage):
                    answer += chunk
        criteria = read_criteria(answer)
        await asyncio.to_thread(_keep, store, battle_id, judge_name, criteria, answer)
        done["battles"] += 1
        done["left"] -= 1
        done["hard"] += criteria is not None and len(criteria) >= HARD_AT
        done["unreadable"] += criteria is None
        if done["battles"] % 10 == 0 or done["left"] == 0:
            say(f"{done['battles']:,} labelled, {done['left']:,} left ({done['hard']:,} hard)")

    await asyncio.gather(*(one(b, p) for b, p in todo))
    return done


def _todo(store: Store, judge: str, retry: bool, limit: int) -> list[tuple[str, str]]:
    with store.session() as s:
        labelled = {
            row.battle_id: row.criteria
            for row in s.exec(select(PromptLabelRecord).where(PromptLabelRecord.judge == judge))
        }
        query = (
            select(BattleRecord.id, TurnRecord.prompt)
            .join(TurnRecord, TurnRecord.battle_id == BattleRecord.id)  # type: ignore[arg-type]
            .where(
                BattleRecord.state == BattleState.VOTED,
                TurnRecord.turn == 1,
                TurnRecord.side == Side.A,
            )
            .order_by(BattleRecord.created_at)  # type: ignore[arg-type]
        )
        rows = s.exec(query).all()
    todo = [
        (battle_id, prompt)
        for battle_id, prompt in rows
        if battle_id not in labelled or (retry and labelled[battle_id] is None)
    ]
    return todo[:limit] if limit > 0 else todo


def _keep(
    store: Store, battle_id: str, judge: str, criteria: list[int] | None, answer: str
) -> None:
    with store.session() as s:
        row = s.exec(
            select(PromptLabelRecord).where(
                PromptLabelRecord.battle_id == battle_id, PromptLabelRecord.judge == judge
            )
        ).first() or PromptLabelRecord(battle_id=battle_id, judge=judge)
        row.criteria, row.answer = criteria, answer
        s.add(row)
        battle = s.get(BattleRecord, battle_id)
        if battle is not None:
            tags: list[Any] = [t for t in battle.tags or [] if t != TAG]
            if criteria is not None and len(criteria) >= HARD_AT:
                tags.append(TAG)
            s.exec(update(BattleRecord).where(BattleRecord.id == battle_id).values(tags=tags))  # type: ignore[arg-type]
        s.commit()
