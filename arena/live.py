"""Live turns: the answers being streamed now, and the line in front of them.

A turn runs as a task of its own, not inside the request that started it: the page
asks for a turn, gets back an unguessable stream token at once, and reads the
answers from ``/api/stream/{token}`` (plain server-sent events, no model names).
Anyone who follows a turn (that endpoint, the JSON API, the tests) reads the same
:class:`LiveTurn`; the turn ends, and is stored and closed, whether or not anybody is
still listening, unless it is stopped.

:class:`LiveTurns` also keeps the arena's capacity: past ``max_live_turns`` a new turn
waits in a first-come line (its place is reported while it waits), and past
``max_wait_s`` in line it is refused politely. Those already streaming never slow
down for those waiting. No one voter may take much of it: a browser holds at most
``max_live_turns_per_browser`` live turns (waiting or streaming: battles,
side-by-side and direct chats together), an address ``max_live_turns_per_address``;
one more is refused at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import Counter, deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

from arena.answers import SideState
from arena.errors import BusyError, LimitError
from arena.words import TurnEvent

__all__ = ["LiveTurn", "LiveTurns", "TurnUpdate", "follow"]


@dataclass
class TurnUpdate:
    """Both sides of the streaming turn; never carries a model name."""

    battle_id: str
    turn: int
    a: SideState = field(default_factory=SideState)
    b: SideState = field(default_factory=SideState)

    @property
    def done(self) -> bool:
        return self.a.done and self.b.done

    @property
    def failed(self) -> bool:
        return self.a.error is not None or self.b.error is not None


@dataclass
class LiveTurn:
    """One turn being streamed; ``update`` holds both answers as they grow."""

    battle_id: str
    update: TurnUpdate
    voter_hash: str = ""  # whose turn it is: only they may stop it
    ip_hash: str = ""  # and the address it came from (its live turns are counted)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    version: int = 0  # grows with every chunk, side finished or close
    firsts: int = 0  # sides whose first text has arrived
    closed: bool = False  # stored and closed in the database: nothing more will change
    task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _urgent: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self, what: TurnEvent | None = None) -> None:
        """Something changed: wake everyone following the turn. A side's first text
        (:attr:`TurnEvent.FIRST`) and the close are urgent: followers send them without waiting
        for their next batch."""
        self.version += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        if what == TurnEvent.FIRST:
            self.firsts += 1
        if what == TurnEvent.FIRST or self.closed:
            urgent, self._urgent = self._urgent, asyncio.Event()
            urgent.set()

    async def urgent_within(self, seconds: float, firsts: int) -> None:
        """Return after ``seconds``, or sooner once more than ``firsts`` sides have text
        or the turn is closed."""
        if self.firsts > firsts or self.closed:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while self.firsts <= firsts and not self.closed:
                    await self._urgent.wait()

    async def changed_since(self, version: int) -> None:
        """Return once :attr:`version` is past ``version`` (at once if it already is)."""
        while self.version == version:
            await self._changed.wait()

    async def stop(self) -> None:
        """Cut both answers short; returns once what they wrote is stored and the turn
        closed."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


async def follow(live: LiveTurn, interval: float = 0.0) -> AsyncGenerator[LiveTurn, None]:
    """Yield ``live`` as its answers grow, at most once per ``interval`` seconds, and a
    last time once it is closed. Each side's first text goes out at once: the two
    sides often start a few milliseconds apart, and the second would otherwise wait
    out a whole interval behind the first (up to 100 ms more to its first token)."""
    seen = -1
    firsts = 0
    last = 0.0
    while not live.closed:
        await live.changed_since(seen)
        wait = interval - (time.monotonic() - last)
        if wait > 0:  # gather what arrives meanwhile into one update
            await live.urgent_within(wait, firsts)
        seen, firsts = live.version, live.firsts
        last = time.monotonic()
        if not live.closed:
            yield live
    yield live


class LiveTurns:
    """This process's live turns by token and by battle, the line to start one, and
    how many each browser and each address holds.

    Args:
        capacity: ``max_live_turns``; read on every use, as a reload can change it.
        max_wait: ``max_wait_s``.
        per_voter: ``max_live_turns_per_browser`` and ``max_live_turns_per_address``
            (0: no limit).
    """

    def __init__(
        self,
        capacity: Callable[[], int],
        max_wait: Callable[[], float],
        per_voter: Callable[[], tuple[int, int]] = lambda: (0, 0),
    ) -> None:
        self._capacity = capacity
        self._max_wait = max_wait
        self._per_voter = per_voter
        self.by_token: dict[str, LiveTurn] = {}
        self.by_battle: dict[str, LiveTurn] = {}
        self.running = 0  # turns holding a place (streaming or closing)
        self._line: deque[asyncio.Future[None]] = deque()
        self.browsers: Counter[str] = Counter()  # live turns by browser hash
        self.addresses: Counter[str] = Counter()  # and by address hash

    def claim(self, browser: str, address: str) -> None:
        """Count one more live turn for ``browser`` and ``address`` (their hashes; ""
        is not counted) until :meth:`release` (or :meth:`leave`).

        Raises:
            LimitError: either already holds its most (nothing was counted).
        """
        most_browser, most_address = self._per_voter()
        if browser and 0 < most_browser <= self.browsers[browser]:
            raise LimitError(
                f"this browser already has {self.browsers[browser]} prompts being answered, "
                "the most one browser may have at once: wait for one to finish (or stop "
                "it), then send again"
            )
        if address and 0 < most_address <= self.addresses[address]:
            raise LimitError(
                f"your network address already has {self.addresses[address]} prompts being "
                "answered, the most one address may have at once: wait for one to finish, "
                "then send again"
            )
        if browser:
            self.browsers[browser] += 1
        if address:
            self.addresses[address] += 1

    def release(self, browser: str, address: str) -> None:
        """Hand back what :meth:`claim` counted."""
        for counts, key in ((self.browsers, browser), (self.addresses, address)):
            if key:
                counts[key] -= 1
                if counts[key] <= 0:
                    del counts[key]

    @property
    def waiting(self) -> int:
        return len(self._line)

    def _room(self) -> bool:
        capacity = self._capacity()
        return capacity <= 0 or self.running < capacity

    async def enter(self, every: float = 5.0) -> AsyncGenerator[int, None]:
        """Take a place for one turn; while there is none, yield this caller's place in
        line (1 = next): at once, then at most every ``every`` seconds when it moved.
        Returns once a place is held: the caller must hand it back with :meth:`leave`.

        Raises:
            BusyError: no place came free within ``max_wait_s`` (nothing was taken).
        """
        if not self._line and self._room():
            self.running += 1
            return
        ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._line.append(ticket)
        deadline = time.monotonic() + self._max_wait()
        told = 0
        try:
            while not ticket.done():
                place = self._line.index(ticket) + 1
                if place != told:
                    told = place
                    yield place
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BusyError(
                        f"the arena is full: {self.running} battles are streaming (the most "
                        "it takes at once) and none finished while you waited. Please try "
                        "again in a minute"
                    )
                await asyncio.wait([ticket], timeout=min(every, remaining))
        except BaseException:
            if ticket.done():  # granted as we left: pass the place on
                self.leave()
            else:
                self._line.remove(ticket)
            raise

    def leave(self, owner: tuple[str, str] = ("", "")) -> None:
        """Hand back a place taken by :meth:`enter`, and the turn ``owner`` (browser,
        address) claimed; the first in line gets the place."""
        self.release(*owner)
        self.running -= 1
        while self._line and self._room():
            ticket = self._line.popleft()
            if not ticket.done():
                self.running += 1
                ticket.set_result(None)

    def add(self, live: LiveTurn) -> None:
        self.by_token[live.token] = live
        self.by_battle[live.battle_id] = live

    def forget(self, live: LiveTurn, after: float = 60.0) -> None:
        """Drop a closed turn after ``after`` seconds (a late reader still gets its end)."""

        def drop() -> None:
            self.by_token.pop(live.token, None)
            if self.by_battle.get(live.battle_id) is live:
                del self.by_battle[live.battle_id]

        asyncio.get_running_loop().call_later(after, drop)
