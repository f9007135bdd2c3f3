"""One simulated browser of bench/load.py: its cookies, and a battle played as the
page's script plays it (post a prompt, read the turn's event stream, vote)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from arena.deploy import ROUTE_COOKIE
from arena.identity import COOKIE as BROWSER_COOKIE

__all__ = ["Battle", "Voter"]


@dataclass
class Battle:
    first: dict[str, float] = field(default_factory=dict)  # side -> seconds to first text
    updates: dict[str, list[float]] = field(default_factory=lambda: {"a": [], "b": []})
    calls: dict[str, float] = field(default_factory=dict)  # request -> seconds
    voted: bool = False
    error: str | None = None


class Voter:
    """One browser: its own cookie and, behind nginx, its own route cookie. The voters
    share one aiohttp session (its connections) but no cookie jar; aiohttp, not httpx,
    so the client costs less than the arena it loads (reading an event stream: ~100
    against ~250 µs a chunk)."""

    def __init__(self, url: str, http: aiohttp.ClientSession, number: int = 0) -> None:
        self.url = url
        self.http = http
        self.cookies: dict[str, str] = {}
        # Its own network address, as a proxy on this machine forwards it (the arena
        # trusts 127.0.0.1's X-Forwarded-For: trusted_proxies).
        self.address = f"198.{18 + number // 65536 % 2}.{number // 256 % 256}.{number % 256}"

    async def open_page(self) -> None:
        """Load the page as a browser does: the arena sets the browser's cookie here,
        and the balancer its route cookie."""
        async with self.http.get(self.url + "/", headers=self._headers()) as page:
            await page.read()
            for name in (ROUTE_COOKIE, BROWSER_COOKIE):
                morsel = page.cookies.get(name)
                if morsel is not None and morsel.value:
                    self.cookies[name] = morsel.value

    def _headers(self) -> dict[str, str]:
        cookies = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {"X-Forwarded-For": self.address, **({"Cookie": cookies} if cookies else {})}

    async def battle(self, prompt: str, think: float, rng: random.Random) -> Battle:
        """What the page's script does (static/arena.js): post the prompt, read the
        turn's events (its start, both answers, the finished turn), read, vote. New
        round needs no request."""
        result = Battle()
        start = time.monotonic()
        try:
            final: dict[str, Any] = {}
            battle_id = None
            turn = {"battle": None, "prompt": prompt}
            async with self.http.post(
                self.url + "/api/turn", json=turn, headers=self._headers()
            ) as events:
                events.raise_for_status()
                event = "message"
                async for line in sse_lines(events):
                    if line.startswith("event:"):
                        event = line[6:].strip()
                        continue
                    if not line.startswith("data:"):
                        event = "message" if not line else event  # a blank line ends one
                        continue
                    data = json.loads(line[5:])
                    if event == "refused":
                        raise RuntimeError(f"refused: {data['message']}")
                    if event == "start":
                        battle_id = data["battle"]
                        result.calls["start"] = time.monotonic() - start
                    elif event == "done":
                        final = data
                        break
                    elif event == "message":
                        now = time.monotonic() - start
                        for side in data:
                            result.first.setdefault(side, now)
                            result.updates[side].append(now)
            if final.get("can_vote") != "yes":  # the page would ask for the stored turn
                raise RuntimeError(f"the turn ended unvotable: {final.get('status')}")
            if len(result.first) < 2:
                raise RuntimeError("an answer never arrived")
            await asyncio.sleep(rng.uniform(0, think))
            asked = time.monotonic()
            vote = {"battle": battle_id, "vote": "model_a"}
            async with self.http.post(
                self.url + "/api/vote", json=vote, headers=self._headers()
            ) as voted:
                if voted.status != 200:
                    raise RuntimeError(f"vote: HTTP {voted.status} {await voted.text()}")
                await voted.read()
            result.calls["vote"] = time.monotonic() - asked
            result.voted = True
        except Exception as exc:  # counted and reported, never hidden
            result.error = f"{type(exc).__name__}: {exc}"
        return result


async def sse_lines(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
    """The lines of an event stream as they arrive (whatever one read holds; a line
    split over two reads is joined; no limit on a line's length)."""
    rest = b""
    async for data in response.content.iter_any():
        lines = (rest + data).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line.rstrip(b"\r").decode()
    if rest:
        yield rest.decode()
