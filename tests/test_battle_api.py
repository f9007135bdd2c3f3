"""The battle panel's own endpoints (arena/web/battle.py), which the page's script
calls, against the running app and the two real local models: a whole battle, and
each refusal with its message."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from gradio_client import Client

from arena.web.voters import NO_COOKIES
from tests.conftest import query

NAMES = ("SmolLM2-135M-Instruct", "Qwen2.5-Coder-0.5B-Instruct")
ORGS = ("Hugging Face", "Alibaba Qwen")


@pytest.fixture
def browsers(live_server: dict[str, str]) -> Iterator[Callable[[], httpx.Client]]:
    """Browsers that opened the page (their cookie) and accepted the terms."""
    opened: list[httpx.Client] = []

    def browser() -> httpx.Client:
        page = Client(live_server["url"], verbose=False)
        page.predict(False, api_name="/accept_terms")
        opened.append(httpx.Client(base_url=live_server["url"], cookies=page.cookies, timeout=120))
        page.close()
        return opened[-1]

    yield browser
    for http in opened:
        http.close()


def turn(http: httpx.Client, body: dict[str, Any], stop_after: int = 0) -> list[tuple[str, Any]]:
    """POST /api/turn and read its events to the end: (event, data) pairs. With
    ``stop_after``, press Stop once that many answer updates have arrived."""
    events: list[tuple[str, Any]] = []
    with http.stream("POST", "/api/turn", json=body) as response:
        assert response.status_code == 200
        assert response.headers["x-accel-buffering"] == "no"
        name = "message"
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line[5:])))
                updates = sum(1 for e, _ in events if e == "message")
                if stop_after and updates == stop_after:
                    battle = next(d["battle"] for e, d in events if e == "start")
                    assert http.post("/api/stop", json={"battle": battle}).status_code == 200
            else:
                name = "message"
    return events


def test_a_battle_through_the_pages_endpoints(
    live_server: dict[str, str], browsers: Callable[[], httpx.Client]
) -> None:
    http = browsers()
    events = turn(http, {"battle": None, "prompt": "Name one colour."})
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done", names
    start, done = events[0][1], events[-1][1]
    battle = start["battle"]
    # The panes show the prompt and an empty answer until the stream fills them.
    for side in "ab":
        assert [m["role"] for m in start[side]] == ["user", "assistant"]
        assert "Name one colour." in json.dumps(start[side])
    streamed = {
        side: "".join(d.get(side, "") for n, d in events if n == "message") for side in "ab"
    }
    assert streamed["a"] and streamed["b"]
    assert done["can_vote"] == "yes" and "Which is better" in done["status"]
    # Nothing before the vote names the models or their makers.
    before = json.dumps(events)
    for secret in NAMES + ORGS:
        assert secret not in before
    # A page whose stream broke asks for the stored turn: the same view.
    assert http.get(f"/api/turn/{battle}").json() == done

    second = turn(http, {"battle": battle, "prompt": "And one more."})
    assert second[0][0] == "start" and second[0][1]["battle"] == battle
    assert len(second[-1][1]["a"]) == 4  # two prompts, two answers

    voted = http.post("/api/vote", json={"battle": battle, "vote": "model_b"})
    assert voted.status_code == 200, voted.text
    assert "Thanks for voting" in voted.json()["status"]
    assert any(name in voted.json()["status"] for name in NAMES)
    assert http.post("/api/vote", json={"battle": battle, "vote": "model_b"}).status_code == 200
    again = http.post("/api/vote", json={"battle": battle, "vote": "tie"})
    assert again.status_code == 409 and "already" in again.json()["detail"]
    stored = query(live_server["db"], f"select winner, turns from battles where id = '{battle}'")
    assert stored == [("model_b", 2)]


def test_regenerate_and_stop(
    live_server: dict[str, str], browsers: Callable[[], httpx.Client]
) -> None:
    http = browsers()
    first = turn(http, {"battle": None, "prompt": "Say hi."})
    battle = first[0][1]["battle"]
    again = turn(http, {"battle": battle, "prompt": None})  # Regenerate
    assert again[0][0] == "start" and len(again[-1][1]["a"]) == 2  # still one turn
    assert query(live_server["db"], f"select turns from battles where id = '{battle}'") == [(1,)]
    # A side-by-side battle stopped after two updates (greedy, and a prompt both models
    # answer at length: neither ends before Stop). The 2048 max_tokens chosen is cut to
    # the models' own 48 (a voter may lower a model's max_tokens, never raise it).
    named = {
        "battle": None,
        "prompt": "Write a long story about a lighthouse keeper, at least a thousand words.",
        "models": list(NAMES),
        "params": {"temperature": 0.0, "top_p": 0.9, "max_tokens": 2048},
    }
    stopped = turn(http, named, stop_after=2)
    assert "Stopped" in stopped[-1][1]["status"]
    assert stopped[-1][1]["can_vote"] == "yes"
    battle = stopped[0][1]["battle"]
    assert query(live_server["db"], f"select mode from battles where id = '{battle}'") == [
        ("named",)
    ]
    reasons = query(
        live_server["db"], f"select finish_reason from turns where battle_id = '{battle}'"
    )
    assert ("stopped",) in reasons


def test_the_endpoints_refuse_clearly_and_only_the_battles_browser_acts(
    live_server: dict[str, str], browsers: Callable[[], httpx.Client]
) -> None:
    http, stranger = browsers(), browsers()
    # Without the page's cookie nothing can be voted on later: refused, saying why.
    bare = httpx.post(live_server["url"].rstrip("/") + "/api/turn", json={"prompt": "Hi"})
    assert bare.status_code == 403 and bare.json()["detail"] == NO_COOKIES
    # A refused prompt starts nothing and says why.
    refused = turn(http, {"battle": None, "prompt": "   "})
    assert [name for name, _ in refused] == ["refused"]
    assert "empty" in refused[0][1]["message"]
    # Nothing to vote on yet.
    early = http.post("/api/vote", json={"battle": "no-such-battle", "vote": "tie"})
    assert early.status_code == 409 and early.json()["detail"]

    battle = turn(http, {"battle": None, "prompt": "Name a fruit."})[0][1]["battle"]
    theirs = stranger.post("/api/vote", json={"battle": battle, "vote": "model_a"})
    assert theirs.status_code == 409 and "another browser" in theirs.json()["detail"]
    assert stranger.get(f"/api/turn/{battle}").status_code == 404
    taken = turn(stranger, {"battle": battle, "prompt": "Go on."})
    assert [name for name, _ in taken] == ["refused"]
    assert "another browser" in taken[0][1]["message"]
    odd = http.post("/api/vote", json={"battle": battle, "vote": "A"})
    assert odd.status_code == 409 and "unknown vote" in odd.json()["detail"]
    assert query(live_server["db"], f"select state from battles where id = '{battle}'") == [
        ("open",)
    ]
