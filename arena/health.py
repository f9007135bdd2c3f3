"""Probing models: can each one answer, how fast to the first token, how many tokens/s."""

from __future__ import annotations

import time
from dataclasses import dataclass

from arena.backends import Usage
from arena.backends.pool import ModelPool
from arena.content import Message
from arena.errors import BackendError

__all__ = ["PROBE_PROMPT", "Probe", "probe_models"]

PROBE_PROMPT = "Say hello in one short sentence."


@dataclass(frozen=True)
class Probe:
    model: str
    ok: bool
    error: str | None = None
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    tokens: int | None = None


async def probe_models(
    pool: ModelPool, prompt: str = PROBE_PROMPT, max_tokens: int = 32
) -> list[Probe]:
    """Ask every model ``prompt``, one after another (so speeds are not shared)."""
    probes = []
    for name, backend in pool.backends.items():
        if name in pool.failures:
            probes.append(Probe(name, False, f"did not start: {pool.failures[name]}"))
            continue
        started = time.monotonic()
        first: float | None = None
        usage = Usage()
        try:
            async for chunk in backend.stream([Message.user(prompt)], {"max_tokens": max_tokens}):
                if isinstance(chunk, Usage):
                    usage = chunk
                elif first is None:
                    first = time.monotonic() - started
        except BackendError as exc:
            probes.append(Probe(name, False, str(exc)))
            continue
        total = time.monotonic() - started
        tokens = usage.completion_tokens
        rate = (
            (tokens - 1) / (total - first)
            if tokens and first is not None and total > first and tokens > 1
            else None
        )
        probes.append(
            Probe(
                name,
                first is not None,
                None if first is not None else "the model answered nothing",
                first,
                rate,
                tokens,
            )
        )
    return probes
