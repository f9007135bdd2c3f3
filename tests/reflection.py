"""A Reflection-style proxy for the audit's proofs (issue #13 asks for exactly this
stand-in): an OpenAI-compatible server that claims to be one model, forwards every
request to another model's server, and deletes the other vendor's names from the
answers as they stream. ``honest=True`` forwards without touching anything (the same
weights behind another URL); ``usage=False`` also drops the usage records, as a proxy
hiding its tokenizer would.

The subtler substitutions of ``bench/audit.py`` change requests instead: ``temperature``
serves every request at that temperature, ``system`` injects a system prompt, and
``mix`` sends that share of requests to ``other`` (with ``honest`` answers)."""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from aiohttp import web

from arena.backends.supervisor import free_port

FILTERED = re.compile(r"qwen|alibaba", re.IGNORECASE)


def _filter_line(line: bytes, usage: bool) -> bytes | None:
    if not line.startswith(b"data:") or line.strip() == b"data: [DONE]":
        return line
    chunk = json.loads(line[5:])
    if not usage and chunk.get("usage"):
        if not chunk.get("choices"):
            return None
        chunk["usage"] = None
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content"):
            delta["content"] = FILTERED.sub("", delta["content"])
    return b"data: " + json.dumps(chunk).encode() + b"\n"


@contextmanager
def reflection_proxy(
    upstream: str,
    *,
    honest: bool = False,
    usage: bool = True,
    temperature: float | None = None,
    system: str | None = None,
    mix: float = 0.0,
    other: str | None = None,
    seed: int = 0,
) -> Iterator[str]:
    """Serve the proxy on 127.0.0.1; yields its ``/v1`` base URL."""
    port = free_port()
    chooser = random.Random(seed)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner: web.AppRunner | None = None

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if temperature is not None:
            body["temperature"] = temperature
        if system is not None:
            body["messages"] = [{"role": "system", "content": system}, *body["messages"]]
        target = other if other is not None and chooser.random() < mix else upstream
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(f"{target}/chat/completions", json=body) as upstream_answer,
            ):
                async for line in upstream_answer.content:
                    out = line if honest else _filter_line(line, usage)
                    if out is not None:
                        await response.write(out)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client read [DONE] and hung up first
        return response

    async def start() -> None:
        nonlocal runner
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop)
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
