"""Any OpenAI-compatible chat endpoint: vLLM, SGLang, llama.cpp, Ollama, TGI, OpenAI,
Mistral, DeepSeek, Together, ... through the openai SDK's ``AsyncOpenAI``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import openai

from arena.backends.base import Message, Usage
from arena.backends.keys import api_key
from arena.backends.sdk import SDKBackend
from arena.config import ArenaSettings, ModelSpec
from arena.errors import BackendError, ConfigError

__all__ = ["OpenAIBackend", "with_system"]


def with_system(messages: Sequence[Message], system_prompt: str) -> list[dict[str, str]]:
    """The chat messages, led by the model's system prompt when it has one."""
    out = [dict(m) for m in messages]
    return [{"role": "system", "content": system_prompt}, *out] if system_prompt else out


class OpenAIBackend(SDKBackend):
    sdk = openai

    def __init__(self, spec: ModelSpec, settings: ArenaSettings) -> None:
        super().__init__(spec, settings)
        if spec.kind == "openai" and not spec.base_url:
            raise ConfigError(f"model {spec.name!r} (kind openai) needs base_url")
        self._api_key = api_key(spec) or "not-needed"
        self._base_url = spec.base_url
        self._request_model = spec.model or spec.name

    def _make_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=self._base_url,
            api_key=self._api_key,
            max_retries=0,  # retries are the base class's policy
            timeout=openai.Timeout(self.spec.total_timeout, connect=self.spec.connect_timeout),
        )

    async def _stream(
        self, messages: Sequence[Message], params: Mapping[str, Any]
    ) -> AsyncIterator[str | Usage]:
        # The SDK builds and sends the request (auth, errors as typed exceptions); the
        # event stream is read here with json.loads, which costs a fraction of the
        # SDK's per-chunk models and matters with hundreds of streams in one process.
        request = self.client().chat.completions.with_streaming_response.create(  # type: ignore[call-overload]
            model=self._request_model,
            messages=with_system(messages, self.spec.system_prompt),
            stream=True,
            stream_options={"include_usage": True},
            extra_body=self.spec.extra_body or None,
            **params,
        )
        finish: str | None = None
        usage: dict[str, Any] = {}
        async with request as response:
            async for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                if chunk.get("error"):
                    raise BackendError("the model's server reported an error mid-answer")
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or ():
                    finish = choice.get("finish_reason") or finish
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield text
        yield Usage(
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            finish_reason=finish,
        )
