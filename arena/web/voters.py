"""Who is asking, and how the arena's refusals are answered over HTTP.

:func:`voter_of` is the one reader of a voter's identity from a request, whichever
front end it came through: the page's script (a Starlette request), a Gradio event
(a ``gr.Request``) or ``gradio_client``. :func:`answer_error` is the one handler of
the arena's errors: each carries its HTTP status (arena/errors.py).
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from arena.errors import AccessError, ArenaError
from arena.gate import Voter
from arena.identity import BROWSER_HEADER
from arena.integrity.proof import PROOF_HEADER

__all__ = ["NO_COOKIES", "answer_errors", "voter_of"]

NO_COOKIES = "this page needs its cookie to count votes; allow cookies for this site"


class _Request(Protocol):
    """What :func:`voter_of` reads: a Starlette request or Gradio's wrapper of one."""

    @property
    def headers(self) -> Any: ...

    @property
    def client(self) -> Any: ...


def voter_of(request: _Request | None, *, cookie: bool = False) -> Voter:
    """The voter behind a request: their browser, by the id its signed cookie holds
    (verified by :class:`arena.identity.BrowserCookies`, which puts it in a header),
    with the proof of work it holds, from the address it came from.

    Without the cookie: with ``cookie`` (the page's script, whose battles are voted
    on by that browser) the request is refused with :class:`AccessError`; otherwise
    (a Gradio event from a client that keeps no cookies) the voter is the Gradio
    session, which holds no proof."""
    if request is None:
        return Voter(session="anonymous")
    headers = request.headers if request.headers is not None else {}
    browser = headers.get(BROWSER_HEADER)
    if not browser and cookie:
        raise AccessError(NO_COOKIES)
    proof = headers.get(PROOF_HEADER)
    session = getattr(request, "session_hash", None)
    return Voter(
        session=browser or f"page:{session or 'anonymous'}",
        ip=request.client.host if request.client else "",
        proof=int(proof) if browser and proof and proof.isdigit() else None,
    )


async def _answer(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ArenaError)
    return JSONResponse({"detail": str(exc)}, status_code=exc.status)


def answer_errors(api: FastAPI) -> None:
    """Answer every :class:`ArenaError` an endpoint raises with its status and message,
    ``{"detail": "..."}`` as FastAPI answers its own refusals."""
    api.add_exception_handler(ArenaError, _answer)
