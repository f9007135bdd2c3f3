"""``gemini``: Google's Gemini models through the google-genai SDK's streaming API.

The system prompt goes in ``system_instruction``; the assistant's turns are sent with
the role ``model``, as the API expects. Install with ``pip install 'arena[gemini]'``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from arena.backends.base import Usage
from arena.backends.keys import api_key
from arena.backends.sdk import SDKBackend
from arena.config import ArenaSettings, ModelSpec
from arena.content import Message, Part, Role, Text
from arena.errors import PrerequisiteError

__all__ = ["GeminiBackend"]

try:
    from google import genai
    from google.genai import errors as genai_errors
    from google.genai import types
except ImportError:  # pragma: no cover - the message says what to install
    genai = None  # type: ignore[assignment]

# arena name -> GenerateContentConfig field
PARAMS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_tokens": "max_output_tokens",
    "stop": "stop_sequences",
}


def gemini_part(part: Part) -> Any:
    """One part as the API's ``Part``."""
    match part:
        case Text(text):
            return types.Part(text=text)


def gemini_contents(messages: Sequence[Message]) -> list[Any]:
    """The translator: the request's ``contents``, the assistant's turns with the role
    ``model`` (the system prompt travels in ``system_instruction``)."""
    return [
        types.Content(
            role="model" if m.role == Role.ASSISTANT else "user",
            parts=[gemini_part(p) for p in m.parts],
        )
        for m in messages
    ]


class GeminiBackend(SDKBackend):
    def __init__(self, spec: ModelSpec, settings: ArenaSettings) -> None:
        super().__init__(spec, settings)
        if genai is None:
            raise PrerequisiteError(
                f"model {spec.name!r} (kind gemini) needs the google-genai SDK: "
                "pip install 'arena[gemini]'"
            )
        self._key = api_key(spec, "GEMINI_API_KEY")

    def _make_client(self) -> genai.Client:
        options: dict[str, Any] = {"timeout": int(self.spec.total_timeout * 1000)}
        if self.spec.base_url:
            options["base_url"] = self.spec.base_url
        return genai.Client(api_key=self._key, http_options=types.HttpOptions(**options))

    async def _close(self, client: genai.Client) -> None:
        await client.aio.aclose()

    async def _stream(
        self, messages: Sequence[Message], params: Mapping[str, Any]
    ) -> AsyncIterator[str | Usage]:
        config = types.GenerateContentConfig(
            system_instruction=self.spec.system_prompt or None,
            **{field: params[name] for name, field in PARAMS.items() if name in params},
        )
        contents = gemini_contents(messages)
        usage: Any = None
        finish: str | None = None
        stream = await self.client().aio.models.generate_content_stream(
            model=self.spec.model or self.spec.name, contents=contents, config=config
        )
        async for chunk in stream:
            if chunk.usage_metadata is not None:
                usage = chunk.usage_metadata
            for candidate in chunk.candidates or []:
                if candidate.finish_reason:
                    finish = str(candidate.finish_reason.value).lower()
            text = chunk.text
            if text:
                yield text
        yield Usage(
            prompt_tokens=getattr(usage, "prompt_token_count", None),
            completion_tokens=getattr(usage, "candidates_token_count", None),
            finish_reason=finish,
        )

    def should_retry(self, exc: BaseException) -> bool:
        if isinstance(exc, genai_errors.APIError):
            return exc.code == 429 or exc.code >= 500
        return isinstance(exc, OSError | ConnectionError) or type(exc).__name__ in (
            "ConnectError",
            "RemoteProtocolError",
            "ReadError",
        )

    def describe(self, exc: BaseException) -> str:
        if isinstance(exc, genai_errors.APIError):
            return f"the model's server answered HTTP {exc.code}"
        return super().describe(exc)
