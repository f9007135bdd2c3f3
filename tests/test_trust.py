"""Trust under attack (issue 21), through ``run_arena.py serve`` with models on the
wire stand-in: what a hostile client may send, and what the arena says back. Each
test's voters come from addresses of their own, forwarded in ``X-Forwarded-For``
(the arena here trusts any proxy, ``trusted_proxies = "*"``), so the tests share one
server without sharing per-address counts."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from gradio_client import Client

from arena.identity import COOKIE
from tests.conftest import db_url, play_turn, query, serve
from tests.test_faults import identity_of
from tests.wire import WireServer, write_config

OFFERED = "Side-by-side offers: m-a, m-b"
Browser = Callable[[str], httpx.Client]  # an address -> a browser that opened the page


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory, wire: WireServer) -> Iterator[dict[str, Any]]:
    """An arena of m-a (max_tokens 64), m-b, the anonymous-only m-secret and the
    retired m-old, with small live-turn caps and no prompt limits."""
    folder = tmp_path_factory.mktemp("trust")
    config = folder / "arena.toml"
    write_config(
        config,
        wire,
        ["m-a", "m-b", "m-secret", "m-old"],
        extra={"m-a": {"params": "{ max_tokens = 64 }"}, "m-old": {"retired": True}},
        trusted_proxies='"*"',
        prompts_per_minute=0,
        ip_prompts_per_minute=0,
        max_live_turns_per_browser=2,
        max_live_turns_per_address=3,
    )
    db = db_url(folder)
    with serve(config, db, folder) as (_, url):
        yield {"url": url, "db": db, "folder": folder}


@pytest.fixture
def browser(arena: dict[str, Any]) -> Iterator[Browser]:
    """Browsers that opened the page (their cookie), each from the address given."""
    opened: list[httpx.Client] = []

    def open_page(address: str) -> httpx.Client:
        headers = {"X-Forwarded-For": address}
        opened.append(httpx.Client(base_url=arena["url"], headers=headers, timeout=30))
        opened[-1].get("/")
        return opened[-1]

    yield open_page
    for http in opened:
        http.close()


def first_event(http: httpx.Client, body: dict[str, Any] | str) -> tuple[str, dict[str, Any]]:
    """POST /api/turn (``body`` as JSON, or JSON text) and read its first event
    (``start`` or ``refused``); the turn goes on without its reader."""
    sent: dict[str, Any] = {"json": body}
    if isinstance(body, str):
        sent = {"content": body.encode(), "headers": {"content-type": "application/json"}}
    with http.stream("POST", "/api/turn", **sent) as response:
        assert response.status_code == 200, response.read()
        name = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                return name, json.loads(line[5:])
    raise AssertionError("the turn sent no event")


def whole_turn(http: httpx.Client, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """POST /api/turn and read every event to the end."""
    events = []
    with http.stream("POST", "/api/turn", json=body) as response:
        name = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line[5:])))
    return events


def sent_to(wire: WireServer, prompt: str) -> dict[str, dict[str, Any]]:
    """The requests the models were sent for ``prompt``, by model id."""
    return {r["model"]: r for r in wire.requests if r["messages"][-1]["content"] == prompt}


def test_a_refusal_names_only_the_models_side_by_side_offers(
    arena: dict[str, Any], browser: Browser
) -> None:
    """An anonymous-only model is refused in the same words as one that does not
    exist, and no refusal lists it (it listed every configured model)."""
    http = browser("198.51.100.1")
    for name in ("x", "m-secret", "m-old"):
        body = {"prompt": "hello", "models": [name, "m-a"]}
        event, data = first_event(http, body)
        assert event == "refused"
        assert data["message"] == f"unknown model '{name}'; {OFFERED}", data
    event, data = first_event(http, {"prompt": "hello", "models": ["y" * 5000, "m-b"]})
    assert len(data["message"]) < 200 and "5,000 characters" in data["message"]


def test_side_by_side_takes_only_the_pages_parameters_finite_and_capped(
    arena: dict[str, Any], wire: WireServer, browser: Browser
) -> None:
    http = browser("198.51.100.2")
    models = ["m-a", "m-b"]
    extras = {"n": 64, "best_of": 50, "min_tokens": 100000, "ignore_eos": 1}
    event, data = first_event(http, {"prompt": "extras", "models": models, "params": extras})
    assert event == "refused"
    assert "'n', 'best_of', 'min_tokens', 'ignore_eos' cannot be chosen" in data["message"], data
    nan = '{"prompt": "nan", "models": ["m-a", "m-b"], "params": {"temperature": NaN}}'
    event, data = first_event(http, nan)
    assert event == "refused" and "temperature takes a finite number" in data["message"], data
    assert not sent_to(wire, "extras") and not sent_to(wire, "nan")

    # max_tokens: at most the model's own (m-a's 64), else the page's most (2048).
    params = {"temperature": 0.5, "top_p": 0.9, "max_tokens": 1e12}
    events = whole_turn(http, {"prompt": "capped", "models": models, "params": params})
    assert events[0][0] == "start" and events[-1][0] == "done", events[:2]
    sent = sent_to(wire, "capped")
    assert sent["m-a"]["max_tokens"] == 64 and sent["m-b"]["max_tokens"] == 2048
    assert sent["m-a"]["temperature"] == 0.5

    # The Gradio API's /sbs_send goes through the same checks.
    client = Client(arena["url"], verbose=False, headers={"X-Forwarded-For": "198.51.100.3"})
    play_turn(client, "from gradio", "sbs_send", ("m-a", "m-b", 0.5, 0.9, 2048))
    client.close()
    assert sent_to(wire, "from gradio")["m-a"]["max_tokens"] == 64


def test_live_turns_are_capped_per_browser_and_per_address(
    arena: dict[str, Any], browser: Browser
) -> None:
    """A browser holds at most 2 live turns here, an address 3 (battles and direct
    chats together); a turn's place is handed back when it ends. SLOW answers send
    one chunk and stall."""
    url = arena["url"]
    slow = {"prompt": "SLOW answer"}
    one = browser("198.51.100.10")
    started = [first_event(one, slow) for _ in range(2)]
    assert [event for event, _ in started] == ["start", "start"]
    event, data = first_event(one, slow)
    assert event == "refused" and "this browser already has 2" in data["message"], data
    one.post("/api/stop", json={"battle": started[0][1]["battle"]})  # one ends
    event, again = first_event(one, slow)
    assert event == "start"
    stop = [started[1][1]["battle"], again["battle"]]

    others = [browser("198.51.100.11") for _ in range(4)]  # fresh cookies
    events = [first_event(http, slow) for http in others]
    assert [event for event, _ in events] == ["start", "start", "start", "refused"]
    assert "your network address already has 3" in events[3][1]["message"]
    stop += [data["battle"] for _, data in events[:3]]

    # A direct chat counts too.
    chatter = browser("198.51.100.12")
    client = Client(
        url,
        verbose=False,
        headers={"X-Forwarded-For": "198.51.100.12"},
        httpx_kwargs={"cookies": {COOKIE: chatter.cookies[COOKIE]}},
    )
    job = client.submit("SLOW chat", "m-a", api_name="/chat_send")
    deadline = time.monotonic() + 30
    while not job.outputs():  # its first chunk arrived: the chat is streaming
        assert time.monotonic() < deadline and not job.done()
        time.sleep(0.05)
    event, data = first_event(chatter, slow)
    assert event == "start"
    stop.append(data["battle"])
    event, data = first_event(chatter, slow)
    assert event == "refused" and "this browser already has 2" in data["message"], data
    job.cancel()
    while (event := first_event(chatter, slow))[0] != "start":  # the chat's place is back
        assert time.monotonic() < deadline, event
        time.sleep(0.1)
    stop.append(event[1]["battle"])
    for battle in stop:
        for http in (one, *others, chatter):
            http.post("/api/stop", json={"battle": battle})
    client.close()


def test_request_bodies_and_heads_are_bounded(arena: dict[str, Any], browser: Browser) -> None:
    url = arena["url"].rstrip("/")
    big = b'{"prompt": "' + b"x" * 10_000_000 + b'"}'
    json_body = {"content-type": "application/json"}
    answer = httpx.post(url + "/api/turn", content=big, headers=json_body)
    assert answer.status_code == 413, answer.text[:200]
    assert f"{len(big):,} bytes" in answer.json()["detail"]
    assert "max_body_bytes" in answer.json()["detail"]

    def chunks(body: bytes) -> Iterator[bytes]:  # no Content-Length: sent in chunks
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    answer = httpx.post(url + "/api/turn", content=chunks(big), headers=json_body)
    assert answer.status_code == 413
    assert "longer than this arena reads (1,048,576 bytes" in answer.json()["detail"]
    # A small body in chunks is read as usual.
    http = browser("198.51.100.20")
    vote = json.dumps({"battle": "no-such-battle", "vote": "tie"}).encode()
    answer = http.post("/api/vote", content=chunks(vote), headers=json_body)
    assert answer.status_code == 409 and "no battle 'no-such-battle'" in answer.text

    # The request line and headers: refused while they arrive, past 64 KiB.
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as raw:
        # Whole, and just over: the server reads all of it before it answers and
        # closes (with bytes left unread, the close resets the connection).
        head = b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 80_000
        raw.sendall(head + b"\r\n\r\n")
        reply = raw.recv(4096)
    assert reply.startswith(b"HTTP/1.1 431"), reply[:100]
    assert b"max_header_bytes" in reply
    ok = httpx.get(url + "/api/health", headers={"X-Fine": "a" * 30_000})
    assert ok.status_code == 200


def test_a_refusal_quotes_only_an_excerpt_of_what_it_was_sent(
    arena: dict[str, Any], browser: Browser
) -> None:
    http = browser("198.51.100.30")
    long_id = "b" * 500_000
    answer = http.post("/api/vote", json={"battle": long_id, "vote": "tie"})
    assert answer.status_code == 409
    assert len(answer.text) < 300 and "500,000 characters" in answer.text, answer.text[:300]
    answer = http.post("/api/vote", json={"battle": [long_id], "vote": "tie"})
    assert answer.status_code == 422 and len(answer.text) < 1000, answer.text[:300]
    # Gradio's own routes, too.
    answer = http.post("/gradio_api/queue/join", json={"data": long_id, "fn_index": 0})
    assert answer.status_code == 422 and len(answer.text) < 1000, answer.text[:300]


def test_with_any_proxy_trusted_the_address_is_the_one_the_nearest_proxy_saw(
    arena: dict[str, Any], browser: Browser
) -> None:
    """``trusted_proxies = "*"``: a client writes whatever it likes at the left of
    X-Forwarded-For, and only the last entry is the proxy's own."""
    http = browser("203.0.113.9, 198.51.100.40")  # spoofed, then real
    events = whole_turn(http, {"prompt": "where am I"})
    assert events[0][0] == "start"
    battle = events[0][1]["battle"]
    identity = identity_of(arena["db"], Path(arena["folder"]))
    stored = query(arena["db"], f"select ip_hash from battles where id = '{battle}'")
    assert stored == [(identity.hash("198.51.100.40"),)]
