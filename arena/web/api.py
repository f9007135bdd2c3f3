"""The JSON API, mounted beside the page under ``/api``. Read-only: the battle panel's
own endpoints (a turn, a vote, stop; for the page's script and the browser holding the
battle) are in :mod:`arena.web.battle`.

- ``GET /api/health``: ``{"status", "problem", "models_ready", "models_configured"}``;
  status ``ok`` (battles can start), ``starting``, ``unavailable`` (fewer than two
  models answer) or ``misconfigured`` (fewer than two configured), and ``problem`` says
  what is wrong (null when ok)
- ``GET /api/models``: the models' public names, organizations, licences, readiness and
  latest endpoint audit (``audit``: date, verdict, kind, reference, or null; models in
  anonymous-only mode are left out)
- ``GET /api/leaderboard?category=...&style=true``: the board, with the same rows and
  manifest as ``run_arena.py leaderboard --format json`` (the deployment's snapshot,
  arena/boards.py: computed by one process, read by all)

- ``GET /api/stream/{token}``: a turn's answers as server-sent events, for the Gradio
  API's ``/send`` (see :mod:`arena.web.stream`)

The organizer's endpoints under ``/api/admin`` need ``Authorization: Bearer TOKEN``,
where TOKEN is the ``ARENA_ADMIN_TOKEN`` the arena was started with; without that
variable they are off (403). ``GET /admin`` is a page that shows them.

- ``GET /api/admin/models``: every model's state (ok, out, down, starting, failed),
  whether it is in the draw, answers in flight, failures, last error, restarts; the
  last reload of ``arena.toml``; and ``proof_of_work``: the last hour's votes, those
  flagged "no proof of work" and their share, the hour before's, and whether the share
  is at or above ``proof_alert_share`` (:mod:`arena.integrity.proof_watch`)
- ``GET /api/admin/campaigns``: suspected rigging campaigns: browsers and addresses
  (keyed hashes) whose votes lift one model beyond the ratings, the model, their
  votes, the rating shift they cause, and whether the board leaves them out
- ``GET /api/admin/logs/{model}?lines=200``: the end of the log of a model server
  the arena runs itself (local and vllm models; the whole log is in ``log_dir``)
- ``GET /api/admin/battles``: the whole record as JSON lines, each row's ``record``
  one of vote (clean_battle shape: conversations, vote, validity and reason, voter and
  IP hashes), failed (with the error), unvoted, chat (a direct chat) and feedback (an
  upvote, downvote or flag); ``?record=vote`` picks kinds
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from arena.app import Arena
from arena.errors import AccessError, ArenaError, NotFoundError, TokenError
from arena.leaderboard import OVERALL, campaign_report
from arena.store.audits import audit_mark, last_audits
from arena.store.export import RECORDS, export_records
from arena.web import STATIC
from ratings import LeaderboardError

__all__ = ["ADMIN_TOKEN_ENV", "admin_router", "api_router"]

ADMIN_TOKEN_ENV = "ARENA_ADMIN_TOKEN"


def api_router(arena: Arena) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get("/health")
    def health() -> dict[str, Any]:
        status, problem = arena.pool.health()
        return {
            "status": status,
            "problem": problem,
            "models_ready": len(arena.pool.ready()),
            "models_configured": len(arena.pool.backends),
        }

    @router.get("/models")
    def models() -> list[dict[str, Any]]:
        ready = set(arena.pool.ready())
        audits = last_audits(arena.store)
        return [
            {
                "name": m.name,
                "organization": m.organization,
                "license": m.license,
                "ready": m.name in ready,
                "retired": m.retired,
                "url": m.url,
                "audit": audit_mark(audits.get(m.name)),
            }
            for m in arena.config.models
            if not m.anonymous_only
        ]

    @router.get("/leaderboard")
    def leaderboard(category: str | None = None, style: bool = False) -> dict[str, Any]:
        try:  # the deployment's snapshot (arena/boards.py), not a fit per request
            view = arena.boards.view(category or OVERALL, style).view
        except LeaderboardError as exc:
            raise ArenaError(str(exc)) from None
        if view.problem:  # style control before any answer varies in style, ...
            raise ArenaError(view.problem)
        return view.board.to_dict()

    return router


def admin_router(arena: Arena, token: str | None = None) -> APIRouter:
    """The organizer's view; ``token`` defaults to ``$ARENA_ADMIN_TOKEN``."""
    expected = os.environ.get(ADMIN_TOKEN_ENV, "") if token is None else token

    def authorised(request: Request) -> None:
        if not expected:
            raise AccessError(f"admin views are off: start the arena with {ADMIN_TOKEN_ENV} set")
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise TokenError("a valid admin token is needed")

    router = APIRouter()

    @router.get("/api/admin/models", dependencies=[Depends(authorised)])
    def model_states() -> dict[str, Any]:
        audits = last_audits(arena.store)
        return {
            "models": [
                {**row.to_dict(), "audit": audit_mark(audits.get(row.name))}
                for row in arena.pool.status()
            ],
            "config": {"source": arena.config.source, **asdict(arena.reload)},
            "proof_of_work": arena.proof_watch.health().to_dict(),
        }

    @router.get("/api/admin/campaigns", dependencies=[Depends(authorised)])
    def campaigns() -> dict[str, Any]:
        """Suspected rigging campaigns (arena.leaderboard.campaign_report)."""
        return campaign_report(arena.store, arena.config)

    @router.get("/api/admin/logs/{name}", dependencies=[Depends(authorised)])
    def server_log(name: str, lines: int = 200) -> dict[str, Any]:
        """The end of the log of a model server the arena runs (local, vllm)."""
        try:
            tail = arena.pool.server_log(name, max(1, min(lines, 5000)))
        except KeyError:
            raise NotFoundError(f"no model {name!r} here") from None
        if tail is None:
            raise NotFoundError(f"{name} runs no server of its own: its logs are its provider's")
        return {"model": name, "lines": tail}

    @router.get("/api/admin/battles", dependencies=[Depends(authorised)])
    def battles(record: Annotated[list[str] | None, Query()] = None) -> StreamingResponse:
        """The whole record as JSON lines, each row's ``record`` saying its kind (vote,
        failed, unvoted, chat, feedback; ``?record=vote&record=chat`` picks kinds).
        Votes are in the clean_battle shape (``run_arena.py leaderboard --battles``
        reads them and skips the other rows)."""
        kinds = tuple(record or RECORDS)
        unknown = sorted(set(kinds) - set(RECORDS))
        if unknown:
            raise ArenaError(f"unknown record kind {unknown[0]!r}; expected {', '.join(RECORDS)}")
        return StreamingResponse(
            (json.dumps(row) + "\n" for row in export_records(arena.store, kinds)),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="battles.jsonl"'},
        )

    @router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
    def admin_page() -> str:
        return (STATIC / "admin.html").read_text(encoding="utf-8")

    return router
