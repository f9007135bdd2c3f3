"""The page's proof of work (:mod:`arena.integrity.proof`), beside the answer stream:

- ``GET /api/proof``: ``{"needed": false}`` while the browser's proof covers its next
  vote (or the arena asks for none), else ``{"needed": true, "challenge": {...}}``, an
  ALTCHA v2 challenge bound to this browser;
- ``POST /api/proof`` ``{"payload": "<base64 ALTCHA payload>"}``: a solved challenge;
  answered with the ``arena_proof`` cookie, or 400 saying why it does not count.

The page's script (``static/arena.js``: ``arenaProof``) calls these when it loads and
after every vote.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from arena.app import Arena
from arena.errors import ArenaError
from arena.identity import MAX_AGE
from arena.integrity.proof import PROOF_COOKIE, ProofError, proof_enabled
from arena.web.voters import voter_of

__all__ = ["proof_router"]


def proof_router(arena: Arena) -> APIRouter:
    router = APIRouter(prefix="/api")
    proofs = arena.gate.identity.proofs

    @router.get("/proof")
    async def challenge(request: Request) -> dict[str, Any]:
        if not proof_enabled(arena.config.settings):
            return {"needed": False}  # asked before the cookie: a page with none still loads
        voter = voter_of(request, cookie=True)
        cast = await arena.store.run(arena.votes.proof_needed, voter)
        if cast is None:
            return {"needed": False}
        challenge = proofs.challenge(voter.session, cast, arena.config.settings.proof_work)
        return {"needed": True, "challenge": challenge}

    @router.post("/proof")
    async def prove(request: Request) -> JSONResponse:
        browser = voter_of(request, cookie=True).session
        try:
            body = await request.json()
            votes = proofs.verify(str(body["payload"]), browser)
        except ProofError as exc:
            raise ArenaError(str(exc)) from None
        except (ValueError, KeyError, TypeError):
            raise ArenaError('expected {"payload": "<ALTCHA payload>"}') from None
        response = JSONResponse({"ok": True, "covers": arena.config.settings.proof_every})
        response.set_cookie(
            PROOF_COOKIE,
            proofs.cookie(browser, votes),
            max_age=MAX_AGE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https"
            or request.headers.get("x-forwarded-proto") == "https",
        )
        return response

    return router
