"""Any OpenAI-compatible chat endpoint: vLLM, SGLang, llama.cpp, Ollama, TGI, OpenAI,
Mistral, DeepSeek, Together, ... through the openai SDK's ``AsyncOpenAI``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import openai

from arena.backends.base import Backend, Message, Usage
from arena.config import ArenaSettings, ModelSpec
from arena.errors import ConfigError

__all__ = ["OpenAIBackend"]


class OpenAIBackend(Backend):
    def __init__(self, spec: ModelSpec, settings: ArenaSettings) -> None:
        super().__init__(spec, settings)
        if spec.kind == "openai" and not spec.base_url:
            raise ConfigError(f"model {spec.name!r} (kind openai) needs base_url")
        self._api_key = "not-needed"
        if spec.api_key_env:
            key = os.environ.get(spec.api_key_env)
            if not key:
                raise ConfigError(
                    f"model {spec.name!r} reads its API key from the environment variable "
                    f"{spec.api_key_env}, which is not set"
                )
            self._api_key = key
        self._client: openai.AsyncOpenAI | None = None
        self._base_url = spec.base_url

    def client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            self._client = openai.AsyncOpenAI(
                base_url=self._base_url,
                api_key=self._api_key,
                max_retries=0,  # retries are the base class's policy
                timeout=openai.Timeout(self.spec.total_timeout, connect=self.spec.connect_timeout),
            )
        return self._client

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _stream(
        self, messages: Sequence[Message], params: Mapping[str, Any]
    ) -> AsyncIterator[str | Usage]:
        response = await self.client().chat.completions.create(  # type: ignore[call-overload]
            model=self.spec.model or self.spec.name,
            messages=[dict(m) for m in messages],  # type: ignore[misc]
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

    def should_retry(self, exc: BaseException) -> bool:
        return isinstance(
            exc, openai.APIConnectionError | openai.RateLimitError | openai.InternalServerError
        )

    def describe(self, exc: BaseException) -> str:
        if isinstance(exc, openai.APIStatusError):
            return f"the model's server answered HTTP {exc.status_code}"
        if isinstance(exc, openai.APIConnectionError):
            return "could not reach the model's server"
        return super().describe(exc)
