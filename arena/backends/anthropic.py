"""``anthropic``: Claude models through the anthropic SDK's streaming Messages API.

The system prompt goes in the request's ``system`` field (the Messages API has no
system role); ``max_tokens`` is required by the API, so it defaults to 1024. Install
with ``pip install 'arena[anthropic]'``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from arena.backends.base import Usage
from arena.backends.keys import api_key
from arena.backends.sdk import SDKBackend
from arena.config import ArenaSettings, ModelSpec
from arena.content import Message, Part, plain_text
from arena.errors import PrerequisiteError

__all__ = ["AnthropicBackend"]

try:
    import anthropic
except ImportError:  # pragma: no cover - the message says what to install
    anthropic = None  # type: ignore[assignment]

# Sampling parameters the Messages API takes; this SDK's stream() no longer has
# arguments for the first three, so they travel in the request body.
BODY_PARAMS = ("temperature", "top_p", "top_k")


def anthropic_content(parts: tuple[Part, ...]) -> str | list[dict[str, Any]]:
    """A message's ``content`` for the Messages API: a string for one text part, else
    a list of content blocks."""
    plain = plain_text(parts)
    return plain if plain is not None else [{"type": "text", "text": p.text} for p in parts]


def anthropic_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The translator: the Messages API's ``messages`` (its system prompt travels in
    the request's own field)."""
    return [{"role": str(m.role), "content": anthropic_content(m.parts)} for m in messages]


class AnthropicBackend(SDKBackend):
    def __init__(self, spec: ModelSpec, settings: ArenaSettings) -> None:
        super().__init__(spec, settings)
        if anthropic is None:
            raise PrerequisiteError(
                f"model {spec.name!r} (kind anthropic) needs the anthropic SDK: "
                "pip install 'arena[anthropic]'"
            )
        self.sdk = anthropic
        self._key = api_key(spec, "ANTHROPIC_API_KEY")

    def _make_client(self) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            api_key=self._key,
            base_url=self.spec.base_url or None,
            max_retries=0,  # retries are the base class's policy
            timeout=anthropic.Timeout(self.spec.total_timeout, connect=self.spec.connect_timeout),
        )

    async def _stream(
        self, messages: Sequence[Message], params: Mapping[str, Any]
    ) -> AsyncIterator[str | Usage]:
        request: dict[str, Any] = {"max_tokens": params.get("max_tokens", 1024)}
        if "stop" in params:
            request["stop_sequences"] = params["stop"]
        if self.spec.system_prompt:
            request["system"] = self.spec.system_prompt
        body = {k: params[k] for k in BODY_PARAMS if k in params} | self.spec.extra_body
        async with self.client().messages.stream(
            model=self.spec.model or self.spec.name,
            messages=anthropic_messages(messages),  # type: ignore[arg-type]
            extra_body=body or None,
            **request,
        ) as stream:
            async for text in stream.text_stream:
                if text:
                    yield text
            final = await stream.get_final_message()
        yield Usage(
            prompt_tokens=final.usage.input_tokens,
            completion_tokens=final.usage.output_tokens,
            finish_reason=final.stop_reason,
        )
