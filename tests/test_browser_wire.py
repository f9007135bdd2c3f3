"""The page in Debian's Chromium against the arena on stand-in models (tests/wire.py):
a slow model, the line past capacity, the proof of work and its share on /admin."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests.browser import browser, send, wait_for_answers, wire_arena
from tests.conftest import play_turn, query

pytest.importorskip("playwright")
from playwright.sync_api import Browser, expect  # noqa: E402

__all__ = ["browser"]  # the fixture, found by pytest here

# Models that give up after 4 s without a first token (a prompt holding "HANG" gets none).
SLOW = {"m-a": {"first_token_timeout": 4}, "m-b": {"first_token_timeout": 4}}


def test_a_slow_model_shows_the_seconds_it_keeps_the_voter_waiting(
    browser: Browser, tmp_path: Path
) -> None:
    with wire_arena(tmp_path, SLOW) as (url, _):
        context = browser.new_context()
        page = context.new_page()
        page.goto(url)
        send(page, "battle", "HANG")  # the wire models never answer this
        waiting = page.locator("#battle-chat-a .arena-live[data-wait]")
        expect(waiting).to_have_attribute("data-wait", re.compile(r"first words… [23] s"))
        status = page.locator("#battle-status")
        expect(status).to_contain_text("Both answers failed", timeout=15_000)
        expect(page.locator("#battle-chat-b")).to_contain_text("took over 4 s")
        expect(page.locator(".arena-live")).to_have_count(0)  # the counter is gone
        context.close()


def test_past_capacity_the_page_shows_its_place_in_line_then_plays_the_battle(
    browser: Browser, tmp_path: Path
) -> None:
    with wire_arena(tmp_path, SLOW, max_live_turns=1) as (url, _):
        first, second = browser.new_context(), browser.new_context()
        holder, waiter = first.new_page(), second.new_page()
        holder.goto(url)
        waiter.goto(url)
        send(holder, "battle", "HANG")  # holds the one place for 4 s, then fails
        expect(holder.locator("#battle-status")).to_contain_text("answering")
        send(waiter, "battle", "Hello there")
        status = waiter.locator("#battle-status")
        expect(status).to_contain_text("you are number 1 in line")
        expect(waiter.locator("#battle-prompt textarea")).to_have_value("")
        wait_for_answers(waiter)  # once the place came free
        expect(waiter.locator("#battle-chat-a")).to_contain_text("You said: Hello there")
        expect(status).not_to_contain_text("in line")
        expect(holder.locator("#battle-status")).to_contain_text("Both answers failed")
        first.close()
        second.close()


def test_the_page_solves_its_proof_of_work_and_a_script_that_skips_it_is_flagged(
    browser: Browser, tmp_path: Path
) -> None:
    settings = {"proof_of_work": '"on"', "proof_every": 2, "proof_work": 5000}
    with wire_arena(tmp_path, **settings) as (url, db):
        context = browser.new_context()
        page = context.new_page()
        proofs: list[int] = []
        page.on(
            "response",
            lambda r: (
                proofs.append(r.status)
                if r.url.endswith("/api/proof") and r.request.method == "POST"
                else None
            ),
        )
        page.goto(url)
        for i in range(3):  # the proof of the page load covers two votes, then a new one
            send(page, "battle", f"Hello {i}")
            wait_for_answers(page)
            page.locator("#battle-vote-a").click()
            expect(page.locator("#battle-status")).to_contain_text("Thanks for voting")
            page.get_by_role("button", name="New round").click()
            expect(page.locator("#battle-vote-a")).to_be_disabled()
        context.close()
        assert proofs == [200, 200]

        script = Client(url, verbose=False)  # the public API, skipping the challenge
        play_turn(script, "Hello from a script")
        assert "Thanks for voting" in script.predict(api_name="/model_a")  # kept...
    votes = query(db, "select valid, invalid_reason from battles order by voted_at")
    assert [bool(v) for v, _ in votes] == [True, True, True, False], votes  # ...but flagged
    assert "no proof of work" in votes[-1][1]


def test_the_admin_view_shows_the_share_of_votes_without_a_proof_of_work(
    browser: Browser, tmp_path: Path
) -> None:
    token = "admin-token-for-the-proof-share"
    env = {"ARENA_ADMIN_TOKEN": token}
    with wire_arena(tmp_path, env=env, proof_of_work='"on"', proof_alert_votes=1) as (url, _):
        script = Client(url, verbose=False)  # the public API, skipping the challenge
        play_turn(script, "Hello from a script")
        assert "Thanks for voting" in script.predict(api_name="/model_a")
        headers = {"Authorization": f"Bearer {token}"}
        proof = httpx.get(url + "api/admin/models", headers=headers).json()["proof_of_work"]
        assert proof == {
            **proof,
            "enabled": True,
            "votes": 1,
            "flagged": 1,
            "share": 1.0,
            "alert": True,  # proof_alert_votes = 1
        }
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + "admin")
        page.get_by_label("Admin token").fill(token)
        page.get_by_role("button", name="Show").click()
        shown = page.locator("#proof")
        expect(shown).to_contain_text('last hour: 1 of 1 votes flagged "no proof of work"')
        expect(shown).to_contain_text("(100%)")
        expect(shown).to_contain_text("is the page's challenge failing?")
        expect(shown).to_have_class("bad")
        context.close()
