"""The JSON API, mounted beside the page under ``/api``. Read-only: no voting here.

- ``GET /api/health``: ``{"status": "ok" | "starting", "models_ready", "models_configured"}``
- ``GET /api/models``: the models' public names, organizations, licences and readiness
- ``GET /api/leaderboard?category=...&style=true``: the board, with the same rows and
  manifest as ``run_arena.py leaderboard --format json``
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from arena.app import Arena
from arena.leaderboard import compute_leaderboard
from ratings import LeaderboardError, Settings

__all__ = ["api_router"]


def api_router(arena: Arena) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get("/health")
    def health() -> dict[str, Any]:
        ready = arena.pool.ready()
        return {
            "status": "ok" if len(ready) >= 2 else "starting",
            "models_ready": len(ready),
            "models_configured": len(arena.pool.backends),
        }

    @router.get("/models")
    def models() -> list[dict[str, Any]]:
        ready = set(arena.pool.ready())
        return [
            {
                "name": m.name,
                "organization": m.organization,
                "license": m.license,
                "ready": m.name in ready,
            }
            for m in arena.config.models
        ]

    @router.get("/leaderboard")
    def leaderboard(category: str | None = None, style: bool = False) -> dict[str, Any]:
        try:
            board = compute_leaderboard(
                arena.store, arena.config, Settings(category=category, style=style)
            )
        except LeaderboardError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        return board.to_dict()

    return router
