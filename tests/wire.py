"""A real HTTP server on 127.0.0.1 that speaks the providers' streaming wire formats.

It stands in for the providers' clouds (Anthropic Messages, Gemini
streamGenerateContent, OpenAI chat completions), which a test cannot reach. What it
answers is set by the last user message: ``FAIL500`` answers HTTP 500, ``HANG`` never
answers, ``SLOW`` sends one chunk and then stalls, ``DROP`` sends two chunks and then
drops the connection, ``ENDLESS`` sends 1,000-character chunks until the client hangs up
(an endpoint that ignores max_tokens); anything else is echoed back in three chunks as
``You said: <prompt>``. ``/v1/moderations`` flags any input holding ``FORBIDDEN``. Every
request body is kept in :attr:`WireServer.requests` so a test can check what the SDK
sent. A model id in :attr:`WireServer.failing` answers HTTP 500 to everything (until it
is removed); a model id in :attr:`WireServer.misbehave` (openai format) acts as if its
prompt held the word given there (``{"m-a": "HANG"}``); :attr:`WireServer.max_active` is
the most requests it was serving at once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from arena.backends.supervisor import free_port

KEY = "test-key-123"


def _answer(prompt: str) -> list[str]:
    text = f"You said: {prompt}"
    third = max(1, len(text) // 3)
    return [text[:third], text[third : 2 * third], text[2 * third :]]


# What the real APIs refuse with HTTP 400 (their documented ranges), so a request the
# arena shapes wrongly fails here as it would there.
OPENAI_RANGES = {"temperature": (0, 2), "top_p": (0, 1), "max_tokens": (1, None)}
ANTHROPIC_RANGES = {"temperature": (0, 1), "top_p": (0, 1), "top_k": (0, None)}
GEMINI_RANGES = {"temperature": (0, 2), "topP": (0, 1), "topK": (1, None)}


def out_of_range(body: dict[str, Any], ranges: dict[str, tuple[float, float | None]]) -> str:
    for name, (low, high) in ranges.items():
        value = body.get(name)
        if value is not None and (value < low or (high is not None and value > high)):
            return f"{name}: range: {low} <= {name} <= {high}, got {value}"
    return ""


def anthropic_refuses(body: dict[str, Any]) -> str:
    """The Messages API's 400s: max_tokens is required; Claude 4.5 models (and Opus
    4.1 on) take temperature or top_p, never both."""
    if "max_tokens" not in body:
        return "max_tokens: Field required"
    if "temperature" in body and "top_p" in body:
        return (
            "`temperature` and `top_p` cannot both be specified for this model. "
            "Please use only one."
        )
    return out_of_range(body, ANTHROPIC_RANGES)


class Dropped(Exception):
    """Raised inside a stream to make the server drop the connection."""


class WireServer:
    def __init__(self, token_delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.token_delay = token_delay
        self.failing: set[str] = set()
        self.misbehave: dict[str, str] = {}
        self.active = 0
        self.max_active = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = FastAPI()
        self._routes()
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> WireServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "wire server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    async def _chunks(self, prompt: str) -> AsyncIterator[str]:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if "HANG" in prompt:
                await asyncio.sleep(3600)
            while "ENDLESS" in prompt:
                await asyncio.sleep(self.token_delay)
                yield "ENDLESS " * 125
            for i, chunk in enumerate(_answer(prompt)):
                if "DROP" in prompt and i == 2:
                    raise Dropped
                if "SLOW" in prompt and i == 1:
                    await asyncio.sleep(3600)
                await asyncio.sleep(self.token_delay)
                yield chunk
        finally:
            self.active -= 1

    def _routes(self) -> None:
        app = self.app

        async def record(request: Request) -> dict[str, Any]:
            body = await request.json()
            self.requests.append(body)
            self.headers.append(dict(request.headers))
            return body

        @app.post("/v1/messages")
        async def anthropic(request: Request) -> Any:
            body = await record(request)
            keys = (request.headers.get("x-api-key"), request.headers.get("authorization"))
            if KEY not in keys and f"Bearer {KEY}" not in keys:
                return JSONResponse({"type": "error"}, status_code=401)
            refused = anthropic_refuses(body)
            if refused:
                error = {"type": "invalid_request_error", "message": refused}
                return JSONResponse({"type": "error", "error": error}, status_code=400)
            prompt = body["messages"][-1]["content"]
            if "FAIL500" in prompt:
                return JSONResponse({"type": "error"}, status_code=500)

            async def events() -> AsyncIterator[str]:
                def event(kind: str, data: dict[str, Any]) -> str:
                    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

                usage = {"input_tokens": 7, "output_tokens": 1}
                message = {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": usage,
                }
                yield event("message_start", {"message": message})
                yield event(
                    "content_block_start",
                    {"index": 0, "content_block": {"type": "text", "text": ""}},
                )
                async for chunk in self._chunks(prompt):
                    yield event(
                        "content_block_delta",
                        {"index": 0, "delta": {"type": "text_delta", "text": chunk}},
                    )
                yield event("content_block_stop", {"index": 0})
                yield event(
                    "message_delta",
                    {
                        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                        "usage": {"output_tokens": 3},
                    },
                )
                yield event("message_stop", {})

            return StreamingResponse(events(), media_type="text/event-stream")

        @app.post("/v1/models/{target}")
        @app.post("/v1beta/models/{target}")
        async def gemini(target: str, request: Request) -> Any:
            body = await record(request)
            if request.headers.get("x-goog-api-key") != KEY:
                return JSONResponse({"error": {"code": 401, "message": "bad key"}}, 401)
            refused = out_of_range(body.get("generationConfig") or {}, GEMINI_RANGES)
            if refused:
                error = {"code": 400, "message": refused, "status": "INVALID_ARGUMENT"}
                return JSONResponse({"error": error}, 400)
            prompt = body["contents"][-1]["parts"][0]["text"]
            if "FAIL500" in prompt:
                return JSONResponse(
                    {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}, 500
                )

            async def events() -> AsyncIterator[str]:
                async for chunk in self._chunks(prompt):
                    data = {
                        "candidates": [
                            {"content": {"role": "model", "parts": [{"text": chunk}]}, "index": 0}
                        ]
                    }
                    yield f"data: {json.dumps(data)}\r\n\r\n"
                last = {
                    "candidates": [
                        {
                            "content": {"role": "model", "parts": [{"text": ""}]},
                            "finishReason": "STOP",
                            "index": 0,
                        }
                    ],
                    "usageMetadata": {
                        "promptTokenCount": 7,
                        "candidatesTokenCount": 3,
                        "totalTokenCount": 10,
                    },
                }
                yield f"data: {json.dumps(last)}\r\n\r\n"

            return StreamingResponse(events(), media_type="text/event-stream")

        @app.post("/v1/chat/completions")
        async def openai(request: Request) -> Any:
            body = await record(request)
            refused = out_of_range(body, OPENAI_RANGES)
            if refused:
                error = {"message": refused, "type": "invalid_request_error", "code": None}
                return JSONResponse({"error": error}, 400)
            prompt = body["messages"][-1]["content"] + self.misbehave.get(body["model"], "")
            if "FAIL500" in prompt or body["model"] in self.failing:
                return JSONResponse({"error": {"message": "boom"}}, 500)

            async def events() -> AsyncIterator[str]:
                def data(delta: dict[str, Any], finish: str | None = None) -> str:
                    choice = {"index": 0, "delta": delta, "finish_reason": finish}
                    chunk = {
                        "id": "c1",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body["model"],
                        "choices": [choice],
                    }
                    return f"data: {json.dumps(chunk)}\n\n"

                async for chunk in self._chunks(prompt):
                    yield data({"content": chunk})
                yield data({}, "stop")
                usage = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
                end = {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": body["model"],
                    "choices": [],
                    "usage": usage,
                }
                yield f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")

        @app.post("/v1/moderations")
        async def moderations(request: Request) -> Any:
            """OpenAI's moderation format: a prompt holding FORBIDDEN is flagged."""
            body = await record(request)
            flagged = "FORBIDDEN" in body["input"]
            categories = {"violence": flagged, "harassment": False}
            return {"id": "modr-1", "results": [{"flagged": flagged, "categories": categories}]}

        @app.get("/health")
        async def health() -> dict[str, str]:
            return {"status": "ok"}


def wire_server(token_delay: float = 0.0) -> Iterator[WireServer]:
    with WireServer(token_delay) as server:
        yield server


def model_toml(wire: WireServer, name: str, **extra: object) -> str:
    fields: dict[str, object] = {
        "name": f'"{name}"',
        "kind": '"openai"',
        "base_url": f'"{wire.url}/v1"',
        "organization": f'"Org {name}"',
        "first_token_timeout": 2.0,
    }
    fields.update(extra)
    lines = ["[[models]]"]
    for key, value in fields.items():
        lines.append(f"{key} = {str(value).lower() if isinstance(value, bool) else value}")
    return "\n".join(lines) + "\n"


def write_config(
    path: Path,
    wire: WireServer,
    models: list[str],
    extra: dict[str, dict[str, object]] | None = None,
    **settings: object,
) -> None:
    """An arena.toml of openai-kind models on ``wire`` (``m-secret`` is anonymous-only;
    ``extra`` adds keys per model)."""
    arena = ["[arena]", 'terms = ""', *(f"{k} = {v}" for k, v in settings.items())]
    extra = {"m-secret": {"anonymous_only": True}, **(extra or {})}
    path.write_text(
        "\n".join(arena)
        + "\n\n"
        + "\n".join(model_toml(wire, m, **extra.get(m, {})) for m in models)
    )
