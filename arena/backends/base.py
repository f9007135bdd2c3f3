"""The one interface every model backend implements.

A backend streams an answer to a conversation: text chunks, then one final
:class:`Usage`. The base class owns the policy all backends share: a first-token
and a total timeout, and retries only before the first token, asked of the
backend's own :meth:`Backend.should_retry`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arena.config import ArenaSettings, ModelSpec
from arena.content import Message
from arena.errors import BackendBusy, BackendError, BackendTimeout
from arena.kinds import Kind, kind_of
from arena.params import ParamRules

__all__ = ["Backend", "Health", "Message", "Usage"]


@dataclass(frozen=True)
class Usage:
    """The closing record of an answer, as the backend reported it."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None


@dataclass
class Health:
    """How a model's recent answers went; the pool takes it out of the draw after
    ``unhealthy_after`` failures in a row."""

    answers: int = 0
    failures: int = 0
    failures_in_row: int = 0
    last_error: str | None = None
    last_error_at: float | None = None  # time.time()
    last_ok_at: float | None = None

    def ok(self) -> None:
        self.answers += 1
        self.failures_in_row = 0
        self.last_ok_at = time.time()

    def failed(self, error: str) -> None:
        self.answers += 1
        self.failures += 1
        self.failures_in_row += 1
        self.last_error = error
        self.last_error_at = time.time()


class Backend(ABC):
    """A model the arena can ask. Subclasses implement :meth:`_stream`."""

    retries: int = 2
    retry_delay_s: float = 0.5
    bind_host: str = "127.0.0.1"  # where a server the backend runs itself listens

    def __init__(self, spec: ModelSpec, settings: ArenaSettings) -> None:
        self.spec = spec
        self.settings = settings
        self.kind: Kind = kind_of(spec.kind)  # what its kind can do (arena/kinds.py)
        self.rules: ParamRules = self.kind.params  # the provider's sampling parameters
        self.in_flight = 0  # answers being streamed (or waiting for a slot) now
        self.health = Health()
        self._slots = asyncio.Semaphore(spec.max_concurrent) if spec.max_concurrent > 0 else None

    @property
    def runs_server(self) -> bool:
        """Whether :meth:`start` starts a server of its own (its kind says)."""
        return self.kind.runs_server

    @property
    def saturated(self) -> bool:
        """Every slot of ``max_concurrent`` is taken (never, without a limit)."""
        return self._slots is not None and self.in_flight >= self.spec.max_concurrent

    async def start(self) -> None:  # noqa: B027 - optional hook, most backends run nothing
        """Start whatever the backend runs itself (a supervised server); default none."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop what :meth:`start` started."""

    @property
    def ready(self) -> bool:
        """Whether the backend can take requests now."""
        return True

    @abstractmethod
    def _stream(
        self, messages: Sequence[Message], params: Mapping[str, Any]
    ) -> AsyncIterator[str | Usage]:
        """Yield the answer's text chunks, then at most one :class:`Usage`."""

    def should_retry(self, exc: BaseException) -> bool:
        """Whether a failure before the first token is worth another try."""
        return False

    async def stream(
        self, messages: Sequence[Message], params: Mapping[str, Any] | None = None
    ) -> AsyncGenerator[str | Usage, None]:
        """Stream an answer under the model's timeouts.

        Retries (up to :attr:`retries` times) only while no token has been produced.
        With ``max_concurrent`` set, the request first waits for a free slot, for at most
        the first-token timeout.

        Raises:
            BackendTimeout: no first token within ``first_token_timeout`` seconds, or the
                whole answer took over ``total_timeout``.
            BackendError: the backend failed; the message is safe to show to a voter.
        """
        self.in_flight += 1
        try:
            # Closed with this generator (a reader that stops early, an answer cut at its
            # limit), not later by the garbage collector: its slot and stream go at once.
            async with contextlib.aclosing(self._limited(messages, params)) as chunks:
                async for chunk in chunks:
                    yield chunk
        except BackendBusy:
            raise  # a saturated model is not a failing one: its health is untouched
        except BackendError as exc:
            self.health.failed(str(exc))
            raise
        else:
            self.health.ok()
        finally:
            self.in_flight -= 1

    async def _limited(
        self, messages: Sequence[Message], params: Mapping[str, Any] | None
    ) -> AsyncGenerator[str | Usage, None]:
        if self._slots is None:
            async with contextlib.aclosing(self._attempts(messages, params)) as chunks:
                async for chunk in chunks:
                    yield chunk
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), self.spec.first_token_timeout)
        except TimeoutError:
            raise BackendBusy(
                f"the model is busy: no free slot within {self.spec.first_token_timeout:g} s"
            ) from None
        try:
            async with contextlib.aclosing(self._attempts(messages, params)) as chunks:
                async for chunk in chunks:
                    yield chunk
        finally:
            self._slots.release()

    async def _attempts(
        self, messages: Sequence[Message], params: Mapping[str, Any] | None
    ) -> AsyncGenerator[str | Usage, None]:
        merged = self.rules.request({**self.spec.params, **(params or {})})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.spec.total_timeout
        for attempt in range(self.retries + 1):
            produced = False
            iterator = aiter(self._stream(messages, merged))
            try:
                # A timeout scope per chunk, not wait_for: wait_for wraps every chunk in
                # a task of its own, a cost paid thousands of times a second under load.
                try:
                    async with asyncio.timeout(self.spec.first_token_timeout):
                        first = await anext(iterator)
                except StopAsyncIteration:
                    return
                produced = True
                yield first
                while True:
                    try:
                        async with asyncio.timeout_at(deadline):
                            chunk = await anext(iterator)
                    except StopAsyncIteration:
                        return
                    yield chunk
            except TimeoutError:
                limit = self.spec.total_timeout if produced else self.spec.first_token_timeout
                what = "the whole answer" if produced else "the first token"
                raise BackendTimeout(f"no answer: {what} took over {limit:g} s") from None
            except BackendError:
                raise
            except Exception as exc:
                if produced or attempt == self.retries or not self.should_retry(exc):
                    raise BackendError(self.describe(exc)) from exc
                await asyncio.sleep(self.retry_delay_s * 2**attempt)
            finally:
                await iterator.aclose()  # type: ignore[attr-defined]

    def describe(self, exc: BaseException) -> str:
        """A message for the voter and the log; never holds a key or the model's name."""
        return f"the model failed to answer ({type(exc).__name__})"
