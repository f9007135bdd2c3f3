"""``GET /share/{battle_id}``: a voted battle as a read-only page, both answers and both
names, for a voter to share after the vote. Before the vote (or for an unknown id, a
direct chat, or with ``share_battles`` off) the answer is the same 404, so the page
never tells whether a battle exists or who is in it."""

from __future__ import annotations

import html

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from arena.app import Arena
from arena.errors import NotFoundError
from arena.store import BattleRecord, TurnRecord
from arena.words import Side, Vote

__all__ = ["share_path", "share_router"]


def share_path(battle_id: str) -> str:
    return f"/share/{battle_id}"


def share_router(arena: Arena) -> APIRouter:
    router = APIRouter()

    @router.get("/share/{battle_id}", response_class=HTMLResponse, include_in_schema=False)
    def share(battle_id: str) -> str:
        found = arena.battles.shared(battle_id)
        if found is None:
            raise NotFoundError("no shared battle here")
        return page(arena.config.settings.title, *found)

    return router


def page(title: str, battle: BattleRecord, turns: list[TurnRecord]) -> str:
    """The share page: escaped text only, no script."""
    sides = []
    for side, name in ((Side.A, battle.model_a), (Side.B, battle.model_b)):
        messages = "".join(
            f'<p class="user"><b>Prompt {t.turn}</b></p><pre>{html.escape(t.prompt)}</pre>'
            f'<p class="model"><b>Answer</b></p><pre>{html.escape(t.answer)}</pre>'
            for t in turns
            if t.side == side
        )
        sides.append(
            f"<section><h2>Model {side.label}: {html.escape(name)}</h2>{messages}</section>"
        )
    verdict = Vote(battle.winner).verdict if battle.winner in list(Vote) else ""
    when = battle.voted_at.strftime("%Y-%m-%d") if battle.voted_at else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}: a battle</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; }}
.sides {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; }}
@media (max-width: 48rem) {{ .sides {{ grid-template-columns: 1fr; }} }}
pre {{ white-space: pre-wrap; word-wrap: break-word; background: #f5f5f5; padding: .75rem; }}
</style></head><body>
<h1>{html.escape(title)}: a battle</h1>
<p>Two anonymous models answered the same prompt; {verdict} ({when}). The names were
shown only after the vote.</p>
<div class="sides">{"".join(sides)}</div>
<p><a href="/">Vote in the arena</a></p>
</body></html>
"""
