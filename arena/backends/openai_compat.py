"""Any OpenAI-compatible chat endpoint: vLLM, SGLang, llama.cpp, Ollama, TGI, OpenAI,
Mistral, DeepSeek, Together, ... through the openai SDK's ``AsyncOpenAI``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import openai

from arena.backends.base import Message, Usage
from arena.backends.keys import api_key
from arena.backends.sdk import SDKBackend
from arena.config import ArenaSettings, ModelSpec
from arena.errors import ConfigError

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
        response = await self.client().chat.completions.create(  # type: ignore[call-overload]
            model=self._request_model,
            messages=with_system(messages, self.spec.system_prompt),  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
            extra_body=self.spec.extra_body or None,
            **params,
        )
        finish: str | None = None
        usage: Any = None
        async for chunk in response:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                if choice.finish_reason:
                    finish = choice.finish_reason
                text = choice.delta.content if choice.delta else None
                if text:
                    yield text
        yield Usage(
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            finish_reason=finish,
        )
