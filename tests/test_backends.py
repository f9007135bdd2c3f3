"""The provider kinds (openai, anthropic, gemini) through their real SDKs, against a
real local HTTP server speaking each provider's wire format, plus live tests that run
only when the provider's key is in the environment."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator

import pytest

from arena.backends import Usage, create_backend
from arena.config import ArenaSettings, ModelSpec
from arena.content import Message
from arena.errors import BackendError, ConfigError
from tests.wire import KEY, WireServer

pytestmark = pytest.mark.no_database  # run once, on SQLite (tests/conftest.py)

SYSTEM = "You are terse."


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


def spec(kind: str, wire: WireServer, **kw: object) -> ModelSpec:
    base = {"openai": f"{wire.url}/v1", "anthropic": wire.url, "gemini": wire.url}[kind]
    fields: dict[str, object] = {
        "name": f"test-{kind}",
        "kind": kind,
        "model": f"{kind}-model-1",
        "base_url": base,
        "api_key_env": "ARENA_TEST_PROVIDER_KEY",
        "system_prompt": SYSTEM,
        "params": {"temperature": 0.2, "max_tokens": 50},
        "first_token_timeout": 2.0,
    }
    fields.update(kw)
    return ModelSpec(**fields)  # type: ignore[arg-type]


async def collect(backend, prompt: str) -> tuple[str, Usage]:  # type: ignore[no-untyped-def]
    text, usage = "", Usage()
    history = [
        Message.user("first question"),
        Message.assistant("first answer"),
        Message.user(prompt),
    ]
    async for chunk in backend.stream(history):
        if isinstance(chunk, Usage):
            usage = chunk
        else:
            text += chunk
    return text, usage


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_TEST_PROVIDER_KEY", KEY)


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_each_provider_streams_the_answer_and_its_usage(kind: str, wire: WireServer) -> None:
    backend = create_backend(spec(kind, wire), ArenaSettings())
    try:
        text, usage = await collect(backend, "hello there")
    finally:
        await backend.stop()
    assert text == "You said: hello there"
    assert (usage.prompt_tokens, usage.completion_tokens) == (7, 3)
    assert usage.finish_reason in ("stop", "end_turn")
    assert backend.health.failures_in_row == 0 and backend.health.answers == 1


async def test_anthropic_gets_the_system_prompt_in_its_own_field(wire: WireServer) -> None:
    backend = create_backend(spec("anthropic", wire), ArenaSettings())
    await collect(backend, "sys check a")
    await backend.stop()
    body = wire.requests[-1]
    assert body["system"] == SYSTEM
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["model"] == "anthropic-model-1"
    assert body["max_tokens"] == 50 and body["temperature"] == 0.2 and body["stream"] is True


async def test_gemini_gets_a_system_instruction_and_model_role(wire: WireServer) -> None:
    backend = create_backend(spec("gemini", wire), ArenaSettings())
    await collect(backend, "sys check g")
    await backend.stop()
    body = wire.requests[-1]
    assert body["systemInstruction"]["parts"][0]["text"] == SYSTEM
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["generationConfig"]["maxOutputTokens"] == 50


async def test_openai_sends_the_system_prompt_as_the_first_message(wire: WireServer) -> None:
    backend = create_backend(spec("openai", wire), ArenaSettings())
    await collect(backend, "sys check o")
    await backend.stop()
    assert wire.requests[-1]["messages"][0] == {"role": "system", "content": SYSTEM}


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_server_errors_are_retried_before_the_first_token_then_reported(
    kind: str, wire: WireServer
) -> None:
    backend = create_backend(spec(kind, wire), ArenaSettings())
    backend.retry_delay_s = 0.01
    before = len(wire.requests)
    with pytest.raises(BackendError, match="HTTP 500"):
        await collect(backend, "FAIL500 please")
    await backend.stop()
    assert len(wire.requests) - before == backend.retries + 1
    assert backend.health.failures_in_row == 1


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_a_dropped_stream_fails_without_a_retry_and_keeps_the_text(
    kind: str, wire: WireServer
) -> None:
    backend = create_backend(spec(kind, wire), ArenaSettings())
    before = len(wire.requests)
    received = ""
    with pytest.raises(BackendError):
        async for chunk in backend.stream([Message.user("DROP it now")]):
            if isinstance(chunk, str):
                received += chunk
    await backend.stop()
    assert received.startswith("You said")  # the first chunks arrived before the drop
    assert len(wire.requests) - before == 1  # never retried once text was produced


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_a_hanging_provider_fails_at_the_first_token_timeout(
    kind: str, wire: WireServer
) -> None:
    backend = create_backend(spec(kind, wire, first_token_timeout=0.5), ArenaSettings())
    with pytest.raises(BackendError, match="first token took over 0.5 s"):
        await collect(backend, "HANG forever")
    await backend.stop()


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
def test_a_missing_key_variable_is_named(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARENA_TEST_PROVIDER_KEY")
    with pytest.raises(ConfigError, match="ARENA_TEST_PROVIDER_KEY"):
        create_backend(
            ModelSpec(
                name="m",
                kind=kind,
                base_url="http://127.0.0.1:9/v1",
                api_key_env="ARENA_TEST_PROVIDER_KEY",
            ),
            ArenaSettings(),
        )


def test_provider_kinds_default_to_their_usual_key_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for kind, variable in (("anthropic", "ANTHROPIC_API_KEY"), ("gemini", "GEMINI_API_KEY")):
        monkeypatch.delenv(variable, raising=False)
        with pytest.raises(ConfigError, match=variable):
            create_backend(ModelSpec(name="m", kind=kind), ArenaSettings())


LIVE = {
    "anthropic": ("ANTHROPIC_API_KEY", "claude-haiku-4-5"),
    "gemini": ("GEMINI_API_KEY", "gemini-2.5-flash"),
}


@pytest.mark.parametrize("kind", sorted(LIVE))
async def test_live_provider_answers(kind: str) -> None:
    variable, model = LIVE[kind]
    if not os.environ.get(variable):
        pytest.skip(f"live {kind} test: set {variable} to run it")
    backend = create_backend(
        ModelSpec(
            name=f"live-{kind}",
            kind=kind,
            model=os.environ.get(f"ARENA_LIVE_{kind.upper()}_MODEL", model),
            system_prompt="Answer in one word.",
            params={"max_tokens": 20},
        ),
        ArenaSettings(),
    )
    try:
        text, usage = await collect(backend, "What colour is the sky on a clear day?")
    finally:
        await backend.stop()
    assert text.strip()
    assert usage.completion_tokens and usage.completion_tokens > 0


# What Side-by-side sends every model: both sampling knobs and a length (as the page's
# slider and JSON send it: a float).
SIDE_BY_SIDE = {"temperature": 0.7, "top_p": 0.9, "max_tokens": 40.0}


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_side_by_side_parameters_reach_each_provider_as_it_takes_them(
    kind: str, wire: WireServer
) -> None:
    backend = create_backend(spec(kind, wire, params={}), ArenaSettings())
    text = ""
    try:
        async for chunk in backend.stream([Message.user("Hi")], SIDE_BY_SIDE):
            if not isinstance(chunk, Usage):
                text += chunk
    finally:
        await backend.stop()
    assert text == "You said: Hi"  # the stand-in refuses what the real API refuses
    sent = wire.requests[-1]
    if kind == "anthropic":  # Claude 4.5 models: temperature or top_p, never both
        assert sent["temperature"] == 0.7 and "top_p" not in sent
    elif kind == "openai":
        assert sent["temperature"] == 0.7 and sent["top_p"] == 0.9
    # Whole numbers go as integers (servers refuse max_tokens=40.0).
    length = sent["generationConfig"]["maxOutputTokens"] if kind == "gemini" else sent["max_tokens"]
    assert length == 40 and isinstance(length, int)


async def test_the_stand_in_refuses_what_the_anthropic_api_refuses(wire: WireServer) -> None:
    from arena.params import OPENAI

    backend = create_backend(spec("anthropic", wire, params={}), ArenaSettings())
    backend.rules = OPENAI  # a backend that forgot Anthropic's rules...
    try:
        with pytest.raises(BackendError, match="HTTP 400"):
            async for _ in backend.stream([Message.user("Hi")], SIDE_BY_SIDE):
                pass
    finally:
        await backend.stop()
    error = wire.requests[-1]
    assert "temperature" in error and "top_p" in error  # ...is caught here, as in production


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("anthropic", {"temperature": 1.5}, "temperature takes 0 to 1 on Anthropic"),
        ("anthropic", {"temperature": 0.5, "top_p": 0.9}, "takes one of temperature and top_p"),
        ("anthropic", {"presence_penalty": 1}, "Anthropic has no parameter 'presence_penalty'"),
        ("gemini", {"top_p": 2}, "top_p takes 0 to 1 on Gemini"),
        ("openai", {"temperature": 2.5}, "temperature takes 0 to 2"),
        ("openai", {"max_tokens": 0}, "max_tokens takes 1 or more"),
    ],
)
def test_arena_toml_params_a_provider_refuses_are_a_config_error(
    kind: str, params: dict[str, object], message: str, tmp_path
) -> None:
    from arena.config import load_config

    table = ", ".join(f"{k} = {v}" for k, v in params.items())
    path = tmp_path / "arena.toml"
    path.write_text(
        f'[[models]]\nname = "m"\nkind = "{kind}"\nbase_url = "http://x"\nparams = {{ {table} }}\n'
        '\n[[models]]\nname = "n"\nkind = "openai"\nbase_url = "http://x"\n'
    )
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path, env={})
    assert "line 2" in str(caught.value) and "'m'" in str(caught.value)


def test_extra_parameters_pass_to_openai_compatible_servers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from arena.config import load_config

    path = tmp_path / "arena.toml"
    path.write_text(
        '[[models]]\nname = "m"\nkind = "openai"\nbase_url = "http://x"\n'
        "params = { min_p = 0.05, repetition_penalty = 1.1 }\n"  # vLLM's own
    )
    assert load_config(path, env={}).models[0].params["min_p"] == 0.05


async def test_openai_events_that_arrive_together_go_on_as_one_chunk() -> None:
    """A server's writes, not its events, set the chunks: events that arrive in one
    read go on together, and an event split across two reads is still read whole."""
    from aiohttp import web

    from arena.backends.supervisor import free_port

    def event(text: str) -> bytes:
        delta = {"choices": [{"delta": {"content": text}, "finish_reason": None}]}
        return f"data: {json.dumps(delta)}\n\n".encode()

    async def chat(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(event("One ") + event("two ") + event("three "))  # one write
        await asyncio.sleep(0.2)
        split = event("four ")
        await response.write(split[:9])  # half an event ...
        await asyncio.sleep(0.2)
        end = {
            "choices": [{"delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 4},
        }
        await response.write(split[9:] + f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    backend = create_backend(
        ModelSpec(name="m", kind="openai", base_url=f"http://127.0.0.1:{port}/v1"), ArenaSettings()
    )
    try:
        chunks = [c async for c in backend.stream([Message.user("count")])]
    finally:
        await backend.stop()
        await runner.cleanup()
    assert chunks[:-1] == ["One two three ", "four "]
    assert chunks[-1] == Usage(prompt_tokens=5, completion_tokens=4, finish_reason="stop")
