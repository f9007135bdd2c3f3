"""Any OpenAI-compatible chat endpoint: vLLM, SGLang, llama.cpp, Ollama, TGI, OpenAI,
Mistral, DeepSeek, Together, ...

Every token of every battle passes through here, so the stream is read with aiohttp
(its HTTP parser is C) and each event with one ``json.loads``: measured with 100
concurrent streams, 35 us of CPU per chunk, against 116-131 us through the openai SDK
or httpx (``bench/load.py``; the numbers are in docs/deploy.md). Events that arrive
in one read go on as one chunk (fast models under load: 7% less CPU per battle). The
request is the
plain chat-completions protocol; errors become the arena's own, and a failure before
the first token is retried by the base class's policy (:meth:`should_retry`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import aiohttp

from arena.backends.base import Backend, Usage
from arena.backends.keys import api_key
from arena.config import ArenaSettings, ModelSpec
from arena.content import Message, Part, plain_text
from arena.errors import BackendError, ConfigError

__all__ = ["HTTPStatusError", "OpenAIBackend", "openai_messages"]

# Worth another try before the first token: rate limits, overload, server errors.
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class HTTPStatusError(Exception):
    """The model's server answered with an error status."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status


def openai_content(parts: tuple[Part, ...]) -> str | list[dict[str, Any]]:
    """A message's ``content`` in the chat-completions format: a plain string when it
    is one text part (what every OpenAI-compatible server takes, including those that
    know no content parts), else the list of typed content parts."""
    plain = plain_text(parts)
    return plain if plain is not None else [{"type": "text", "text": p.text} for p in parts]


def openai_messages(messages: Sequence[Message], system_prompt: str = "") -> list[dict[str, Any]]:
    """The translator: the chat-completions ``messages``, led by the model's system
    prompt when it has one."""
    out = [{"role": str(m.role), "content": openai_content(m.parts)} for m in messages]
    return [{"role": "system", "content": system_prompt}, *out] if system_prompt else out


class OpenAIBackend(Backend):
    def __init__(self, spec: ModelSpec, settings: ArenaSettings) -> None:
        super().__init__(spec, settings)
        if spec.kind == "openai" and not spec.base_url:
            raise ConfigError(f"model {spec.name!r} (kind openai) needs base_url")
        self._api_key = api_key(spec) or "not-needed"
        self._base_url = spec.base_url
        self._request_model = spec.model or spec.name
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """One connection pool per model, made on first use (inside the event loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # No pool limit here: max_concurrent is the per-model limit.
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.spec.connect_timeout),
                headers={"Authorization": f"Bearer {self._api_key}"},
                read_bufsize=2**20,  # an event line may be long (a whole answer at once)
            )
        return self._session

    async def stop(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def should_retry(self, exc: BaseException) -> bool:
        if isinstance(exc, HTTPStatusError):
            return exc.status in RETRY_STATUS
        return isinstance(exc, aiohttp.ClientConnectionError)

    def describe(self, exc: BaseException) -> str:
        if isinstance(exc, HTTPStatusError):
            return f"the model's server answered HTTP {exc.status}"
        if isinstance(exc, aiohttp.ClientConnectionError):
            return "could not reach the model's server"
        return super().describe(exc)

    def request(self, messages: Sequence[Message], params: Mapping[str, Any]) -> dict[str, Any]:
        """The chat-completions request body."""
        return {
            **(self.spec.extra_body or {}),
            "model": self._request_model,
            "messages": openai_messages(messages, self.spec.system_prompt),
            "stream": True,
            "stream_options": {"include_usage": True},
            **params,
        }

    async def _stream(
        self, messages: Sequence[Message], params: Mapping[str, Any]
    ) -> AsyncIterator[str | Usage]:
        url = f"{str(self._base_url).rstrip('/')}/chat/completions"
        finish: str | None = None
        usage: dict[str, Any] = {}
        async with self.session().post(url, json=self.request(messages, params)) as response:
            if response.status >= 400:
                raise HTTPStatusError(response.status, await response.text())
            # Whatever arrived since the last read is parsed at once and its text goes
            # on as one chunk: idle, that is one event per read, as sent; under load,
            # when several wait, one pass through the arena's layers carries them all.
            pending = b""
            done = False
            async for data in response.content.iter_any():
                pending += data
                *lines, pending = pending.split(b"\n")
                texts = []
                for raw in lines:
                    if not raw.startswith(b"data:"):
                        continue
                    event = raw[5:].strip()
                    if event == b"[DONE]":
                        done = True
                        break
                    chunk = json.loads(event)
                    if chunk.get("error"):
                        raise BackendError("the model's server reported an error mid-answer")
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices") or ():
                        finish = choice.get("finish_reason") or finish
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            texts.append(text)
                if texts:
                    yield "".join(texts)
                if done:
                    break
        yield Usage(
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            finish_reason=finish,
        )
