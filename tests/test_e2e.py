"""A battle driven through the running app (``run_arena.py serve``) with gradio_client,
against the two real local models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gradio_client import Client

from arena.web.render import safe_markdown
from tests.conftest import ROOT, play_turn, query

NAMES = ("SmolLM2-135M-Instruct", "Qwen2.5-Coder-0.5B-Instruct")
ORGS = ("Hugging Face", "Alibaba Qwen")


def rows(server: dict[str, str], sql: str) -> list[tuple]:
    return query(server["db"], sql)


def connect(server: dict[str, str]) -> Client:
    client = Client(server["url"], verbose=False)
    client.predict(False, api_name="/accept_terms")
    return client


def test_battle_end_to_end(live_server: dict[str, str]) -> None:
    client = connect(live_server)
    first = play_turn(client, "Write one sentence about the sea.")
    second = play_turn(client, "Now one about mountains.")
    seen_before_vote = first.seen + second.seen

    # Both answers streamed: many updates, each side growing to a full answer.
    assert len(first.events) > 3
    assert {side for event in first.events for side in event} == {"a", "b"}
    chat_a, chat_b = second.chat_a, second.chat_b
    assert len(chat_a) == len(chat_b) == 4  # two prompts, two answers each side
    assert all(m["content"] for m in chat_a + chat_b)
    # Nothing the client received before the vote names the models or their makers.
    for secret in NAMES + ORGS:
        assert secret not in seen_before_vote
    # (The page's own config lists every model for the Side-by-side and Direct chat
    # tabs; what must never show is which two are in this battle.)

    reveal = client.predict(api_name="/model_a")  # the status line (buttons are not data)
    assert any(name in reveal for name in NAMES), reveal

    battle = rows(
        live_server,
        "select id, model_a, model_b, state, winner, anony, turns, "
        "voter_hash, ip_hash, created_at, voted_at from battles where state = 'voted' "
        "order by voted_at desc limit 1",  # the server is shared with the browser tests
    )
    battle_id, model_a, model_b, state, winner, anony, turns, voter, ip, created, voted = battle[0]
    assert {model_a, model_b} == set(NAMES)
    assert f"Model A was **{model_a}**" in reveal
    assert (state, winner, anony, turns) == ("voted", "model_a", 1, 2)
    assert len(voter) == 64 and len(ip) == 64 and "127.0.0.1" not in ip
    assert created and voted
    turns = rows(
        live_server,
        f"select turn, side, prompt, answer, ttft_s, total_s, "
        f"completion_tokens from turns where battle_id = '{battle_id}' order by turn, side",
    )
    assert [(t[0], t[1]) for t in turns] == [(1, "a"), (1, "b"), (2, "a"), (2, "b")]
    assert turns[2][2] == "Now one about mountains."
    assert all(t[3] and t[4] > 0 and t[5] >= t[4] and t[6] > 0 for t in turns)
    # The answers the voter saw are the answers stored (rendered: arena/web/render.py).
    assert chat_a[-1]["content"][0]["text"] == safe_markdown(turns[2][3])


def test_new_round_draws_a_new_battle(live_server: dict[str, str]) -> None:
    client = connect(live_server)
    play_turn(client, "Say yes.")
    client.predict(api_name="/tie")
    with pytest.raises(Exception, match="already has its vote"):
        play_turn(client, "Another turn after the vote?")
    client.predict(api_name="/new_round")
    play_turn(client, "Say no.")
    client.predict(api_name="/tie_bothbad")
    winners = [r[0] for r in rows(live_server, "select winner from battles where state='voted'")]
    assert "tie" in winners and "tie (bothbad)" in winners


def test_a_side_by_side_battle_through_the_gradio_api(live_server: dict[str, str]) -> None:
    """Scripts pick both models and the sampling in one call, as the tab's controls do."""
    client = connect(live_server)
    # Slider values as Gradio passes them: max tokens arrives as a float.
    choices = (NAMES[1], NAMES[0], 0.0, 0.5, 32.0)
    turn = play_turn(client, "Name a fruit.", "sbs_send", choices)
    assert turn.chat_a[-1]["content"] and turn.chat_b[-1]["content"]
    reveal = client.predict(api_name="/sbs_model_b")
    assert f"Model B was **{NAMES[0]}**" in reveal, reveal
    battle_id, mode, anony, winner, a, b, params = rows(
        live_server,
        "select id, mode, anony, winner, model_a, model_b, params from battles "
        "where mode = 'named' and state = 'voted' order by voted_at desc limit 1",
    )[0]
    assert (mode, anony, winner, a, b) == ("named", 0, "model_b", NAMES[1], NAMES[0])
    sent = json.loads(params) if isinstance(params, str) else params
    for side in "ab":  # the voter's choices over each model's own, whole numbers as such
        assert sent[side]["temperature"] == 0.0 and sent[side]["top_p"] == 0.5
        assert sent[side]["max_tokens"] == 32 and isinstance(sent[side]["max_tokens"], int)
    tokens = rows(
        live_server, f"select completion_tokens from turns where battle_id = '{battle_id}'"
    )
    assert all(0 < t <= 32 for (t,) in tokens), tokens
    client.close()


def test_empty_prompt_is_refused_through_the_app(live_server: dict[str, str]) -> None:
    client = connect(live_server)
    battles_before = rows(live_server, "select count(*) from battles")[0][0]
    with pytest.raises(Exception, match="prompt is empty"):
        play_turn(client, "  ")
    assert rows(live_server, "select count(*) from battles")[0][0] == battles_before


def test_leaderboard_counts_the_votes(live_server: dict[str, str]) -> None:
    client = connect(live_server)
    play_turn(client, "Say something kind.")
    client.predict(api_name="/model_b")
    _category, summary, table, *_ = client.predict("Overall", False, True, api_name="/leaderboard")
    voted = rows(live_server, "select count(*) from battles where state='voted' and anony")[0][0]
    assert f"**{voted:,} vote" in summary
    # Few votes yet: each model is marked provisional beside its name.
    assert {row[2] for row in table["data"]} == {f"{n} *(provisional)*" for n in NAMES}
    assert "*Provisional*" in summary
    # The voter's own board: only this browser's votes, with a caveat while they are few.
    _category, mine, my_table, *_ = client.predict(
        "Overall", False, True, "My votes", api_name="/leaderboard"
    )
    assert "Your board: 1 of your vote" in mine and "too few to tell" in mine
    assert len(my_table["data"]) == 2
    stranger = connect(live_server)
    _category, theirs, their_table, *_ = stranger.predict(
        "Overall", False, True, "My votes", api_name="/leaderboard"
    )
    assert "not voted in an anonymous battle" in theirs and not their_table["data"]

    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run_arena.py"),
            "leaderboard",
            "--db",
            live_server["db"],
            "--config",
            live_server["config"],
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    board = json.loads(out.stdout)
    assert board["manifest"]["battles"] == voted  # anonymous battles only
    assert sum(r["votes"] for r in board["rows"]) == 2 * voted
    assert {r["organization"] for r in board["rows"]} == set(ORGS)


def test_the_json_api_lists_models_and_the_board(live_server: dict[str, str]) -> None:
    import httpx

    base = live_server["url"] + "api/"
    models = httpx.get(base + "models").json()
    assert {m["name"] for m in models} == set(NAMES)
    assert all(m["ready"] and m["organization"] for m in models)
    board = httpx.get(base + "leaderboard").json()
    assert set(board) >= {"manifest", "rows"}
    voted = rows(live_server, "select count(*) from battles where state='voted' and anony")
    assert board["manifest"]["battles"] == voted[0][0]
    bad = httpx.get(base + "leaderboard", params={"category": "poetry"})
    assert bad.status_code == 400 and "unknown category" in bad.json()["detail"]
    assert httpx.post(base + "leaderboard").status_code in (404, 405)  # read-only


def test_the_admin_view_shows_the_end_of_each_model_servers_log(
    live_server: dict[str, str],
) -> None:
    import httpx

    auth = {"Authorization": f"Bearer {live_server['admin_token']}"}
    base = live_server["url"] + "api/admin/logs/"
    for name in NAMES:
        answer = httpx.get(base + name, params={"lines": 5}, headers=auth)
        assert answer.status_code == 200, answer.text
        lines = answer.json()["lines"]
        assert 0 < len(lines) <= 5
        on_disk = (Path(live_server["folder"]) / "logs" / f"{name}.log").read_text()
        assert lines[-1] in on_disk  # read from the rotated file under log_dir
    assert httpx.get(base + "no-such-model", headers=auth).status_code == 404
    assert httpx.get(base + NAMES[0]).status_code == 401  # organizers only
