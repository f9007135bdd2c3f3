"""All configured models' backends: started together, watched, and asked who may battle.

A model is in the draw when its backend is ready (its server, if it runs one, is
healthy) and its answers have not failed ``unhealthy_after`` times in a row. A model
out of the draw is probed every ``health_check_s`` seconds and returns at its first
good answer. :meth:`ModelPool.update` applies a changed ``arena.toml`` without a
restart: new models start and join, removed ones leave the draw at once and stop once
the answers they are streaming have ended, changed ones restart the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from arena.backends.base import Backend
from arena.backends.gpus import assign_gpus
from arena.config import Config, ModelSpec
from arena.content import Message
from arena.errors import ArenaError, BackendError, NoModelsError
from arena.kinds import kind_of

__all__ = ["ModelPool", "ModelStatus"]

log = logging.getLogger(__name__)

# Never the model's name: in an anonymous battle that would reveal it before the vote.
GONE = "a model of this conversation has left the arena; start a new round to go on"
PROBE = [Message.user("Say hello in one short sentence.")]


@dataclass(frozen=True)
class ModelStatus:
    """One row of the organizer's view of the models."""

    name: str
    kind: str
    state: str  # starting | ok | out (failing answers) | down (server not healthy) | failed
    in_draw: bool
    in_flight: int
    max_concurrent: int
    answers: int
    failures: int
    failures_in_row: int
    last_error: str | None
    last_error_at: float | None
    last_ok_at: float | None
    restarts: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ModelPool:
    """One backend per configured model.

    Local models that leave ``threads`` at 0 share the machine's cores evenly, so two
    of them streaming at once do not fight over the same cores; vllm models get their
    GPUs from :func:`arena.backends.gpus.assign_gpus`.

    Attributes:
        bind_host: the address the servers the arena runs itself listen on.
    """

    def __init__(self, config: Config, *, bind_host: str = "127.0.0.1") -> None:
        self.config = config
        self.bind_host = bind_host
        self.backends: dict[str, Backend] = {}
        self.failures: dict[str, str] = {}  # models that did not start, and why
        self._started: set[str] = set()
        self._probe_task: asyncio.Task[None] | None = None
        self._leaving: set[asyncio.Task[None]] = set()  # backends finishing their answers
        for spec in self._prepared(config):
            self.backends[spec.name] = self._create(spec)

    def _prepared(self, config: Config) -> list[ModelSpec]:
        """The models to run (retired ones are not), with their threads and GPUs."""
        active = [m for m in config.models if not m.retired]
        sharing = [m for m in active if kind_of(m.kind).shares_cpu]
        share = max(1, (os.cpu_count() or 1) // max(1, len(sharing)))
        gpus = assign_gpus(active, config.settings.gpus)
        specs = []
        for spec in active:
            if kind_of(spec.kind).shares_cpu and spec.threads == 0:
                spec = replace(spec, threads=share)
            if spec.name in gpus:
                spec = replace(spec, gpus=gpus[spec.name])
            specs.append(spec)
        return specs

    def _create(self, spec: ModelSpec) -> Backend:
        from arena.backends import create_backend

        backend = create_backend(spec, self.config.settings)
        backend.bind_host = self.bind_host
        return backend

    async def start(self) -> None:
        """Start every backend at once (one that fails is logged and left out), then
        keep probing the models that left the draw."""
        await self._start(list(self.backends))
        if self._probe_task is None:
            self._probe_task = asyncio.create_task(self._probe_loop(), name="model probes")

    async def _start(self, names: list[str]) -> None:
        results = await asyncio.gather(
            *(self.backends[n].start() for n in names), return_exceptions=True
        )
        for name, result in zip(names, results, strict=True):
            self._started.add(name)
            if isinstance(result, BaseException):
                self.failures[name] = str(result)
                log.error("model %s did not start: %s", name, result)
            else:
                self.failures.pop(name, None)

    async def stop(self) -> None:
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
            self._probe_task = None
        for task in list(self._leaving):
            task.cancel()
        await asyncio.gather(*self._leaving, return_exceptions=True)
        await asyncio.gather(*(b.stop() for b in self.backends.values()), return_exceptions=True)

    async def update(self, config: Config) -> dict[str, list[str]]:
        """Apply a new configuration without a restart; returns the names added,
        removed and changed. Backends are built before anything stops, so a model
        that cannot be built leaves the pool as it was."""
        old = {n: b.spec for n, b in self.backends.items()}
        keep_gpus = {n: s.gpus for n, s in old.items() if kind_of(s.kind).takes_gpus}
        specs = {s.name: s for s in self._prepared(config)}
        for name, spec in specs.items():  # a running vllm model keeps its GPUs
            if name in keep_gpus and replace(spec, gpus=keep_gpus[name]) == old[name]:
                specs[name] = old[name]
        added = [n for n in specs if n not in old]
        removed = [n for n in old if n not in specs]
        changed = [n for n in specs if n in old and specs[n] != old[n]]
        fresh = {n: self._create(specs[n]) for n in added + changed}
        self.config = config
        for name in removed + changed:
            backend = self.backends.pop(name)
            self._started.discard(name)
            self.failures.pop(name, None)
            # Out of the draw now; the battles streaming on it finish first (a changed
            # model that runs its own server restarts once the old one has stopped).
            restart = name in changed and fresh[name].runs_server
            task = asyncio.create_task(
                self._retire(backend, name if restart else None), name=f"retire {name}"
            )
            self._leaving.add(task)
            task.add_done_callback(self._leaving.discard)
        self.backends.update(fresh)
        if self._probe_task is not None:  # a running pool starts what joined
            await self._start([n for n in fresh if n in added or not fresh[n].runs_server])
        return {"added": added, "removed": removed, "changed": changed}

    async def _retire(self, backend: Backend, restart: str | None) -> None:
        """Stop ``backend`` once its answers have ended (or its longest answer could
        have), then start ``restart``, the model's new backend, if the pool runs."""
        deadline = time.monotonic() + backend.spec.first_token_timeout + backend.spec.total_timeout
        while backend.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await backend.stop()
        if restart is not None and self.backends.get(restart) is not None:
            if self._probe_task is not None:
                await self._start([restart])

    async def settled(self) -> None:
        """Wait until every backend that left (removed or changed) has stopped."""
        await asyncio.gather(*list(self._leaving), return_exceptions=True)

    def backend(self, name: str) -> Backend:
        try:
            return self.backends[name]
        except KeyError:
            raise NoModelsError(GONE) from None

    def in_draw(self, name: str) -> bool:
        backend = self.backends.get(name)
        return (
            backend is not None
            and name not in self.failures
            and backend.ready
            and backend.health.failures_in_row < self.config.settings.unhealthy_after
        )

    def ready(self) -> list[str]:
        """Names of the models that may battle now."""
        return [name for name in self.backends if self.in_draw(name)]

    def server_log(self, name: str, lines: int = 200) -> list[str] | None:
        """The end of the log of model ``name``'s own server; None for a model that
        runs none (an API), :class:`KeyError` for one not in the arena."""
        supervisor = getattr(self.backends[name], "supervisor", None)
        if supervisor is not None:
            return list(supervisor.tail(lines))
        return [] if self.backends[name].runs_server else None

    def health(self) -> tuple[str, str | None]:
        """``ok`` (two or more models can battle), ``starting`` (not yet: models are
        still starting), ``unavailable`` (not now: too few answer) or ``misconfigured``
        (never: fewer than two models configured); and for all but ``ok`` what is
        wrong, in a sentence that names no model (it is public)."""
        configured = len(self.backends)
        if configured < 2:
            return "misconfigured", (
                f"arena.toml configures {configured} model{'s' if configured != 1 else ''}; "
                "a battle needs two: add another [[models]] entry"
            )
        ready = len(self.ready())
        if ready >= 2:
            return "ok", None
        if any(name not in self._started for name in self.backends):
            waiting = len([n for n in self.backends if n not in self._started])
            return "starting", f"{waiting} of {configured} models are still starting"
        return "unavailable", (
            f"only {ready} of {configured} models can answer now (the others failed to "
            "start or keep failing; the admin view says why); battles resume when two can"
        )

    def available(self) -> list[str]:
        """Models in the draw with a free slot; all of them when fewer than two have one."""
        ready = self.ready()
        free = [n for n in ready if not self.backends[n].saturated]
        return free if len(free) >= 2 else ready

    def status(self) -> list[ModelStatus]:
        rows = []
        for name, backend in self.backends.items():
            health = backend.health
            if name in self.failures:
                state = "failed"
            elif name not in self._started:
                state = "starting"
            elif not backend.ready:
                state = "down"
            elif health.failures_in_row >= self.config.settings.unhealthy_after:
                state = "out"
            else:
                state = "ok"
            supervisor = getattr(backend, "supervisor", None)
            rows.append(
                ModelStatus(
                    name=name,
                    kind=backend.spec.kind,
                    state=state,
                    in_draw=self.in_draw(name),
                    in_flight=backend.in_flight,
                    max_concurrent=backend.spec.max_concurrent,
                    answers=health.answers,
                    failures=health.failures,
                    failures_in_row=health.failures_in_row,
                    last_error=self.failures.get(name, health.last_error),
                    last_error_at=health.last_error_at,
                    last_ok_at=health.last_ok_at,
                    restarts=supervisor.restarts if supervisor is not None else 0,
                )
            )
        return rows

    async def _probe_loop(self) -> None:
        while True:
            await asyncio.sleep(max(0.05, self.config.settings.health_check_s))
            await self.probe_out()

    async def probe_out(self) -> None:
        """Ask each model that left the draw (its server up) a short question; a good
        answer brings it back."""
        limit = self.config.settings.unhealthy_after
        for name, backend in list(self.backends.items()):
            if not backend.ready or backend.health.failures_in_row < limit:
                continue
            started = time.monotonic()
            try:
                async for _ in backend.stream(PROBE, {"max_tokens": 8}):
                    pass
            except BackendError as exc:
                log.warning("model %s is still failing: %s", name, exc)
            else:
                log.info(
                    "model %s answers again (%.1f s); back in the draw",
                    name,
                    time.monotonic() - started,
                )


@asynccontextmanager
async def running(config: Config, names: Sequence[str]) -> AsyncIterator[ModelPool]:
    """A pool of only the models ``names`` (for a command that needs a few), started;
    stopped on leaving. A model that does not start is an error that names it."""
    chosen = replace(config, models=tuple(m for m in config.models if m.name in names))
    pool = ModelPool(chosen)
    await pool.start()
    try:
        if pool.failures:
            failed, why = next(iter(pool.failures.items()))
            raise ArenaError(f"model {failed} did not start: {why}")
        yield pool
    finally:
        await pool.stop()
