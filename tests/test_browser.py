"""The web page in a real headless Chromium (Debian's), against the running arena with
the real local models (the page on stand-in models: tests/test_browser_wire.py and
tests/test_browser_trust.py)."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.browser import (
    ANSWER_TIMEOUT,
    ARTIFACTS,
    browser,
    bubbles,
    open_tab,
    send,
    wait_for_answers,
)
from tests.conftest import query

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect  # noqa: E402

__all__ = ["browser"]  # the fixture, found by pytest here

NAMES = ("SmolLM2-135M-Instruct", "Qwen2.5-Coder-0.5B-Instruct")
ORGS = ("Hugging Face", "Alibaba Qwen")

# Everything the page's scripts receive: fetch bodies (streams included), WebSocket and
# EventSource messages.
CAPTURE = """
window.__payloads = [];
const record = (text) => window.__payloads.push(String(text));
const originalFetch = window.fetch;
window.fetch = async (...args) => {
  const response = await originalFetch(...args);
  try {
    const reader = response.clone().body.getReader();
    const decoder = new TextDecoder();
    (async () => { for (;;) { const { done, value } = await reader.read(); if (done) break;
                              record(decoder.decode(value)); } })();
  } catch (e) {}
  return response;
};
const OriginalWebSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const socket = new OriginalWebSocket(...args);
  socket.addEventListener("message", (e) => record(e.data));
  return socket;
};
const OriginalEventSource = window.EventSource;
if (OriginalEventSource) {
  window.EventSource = function (...args) {
    const source = new OriginalEventSource(...args);
    source.addEventListener("message", (e) => record(e.data));
    return source;
  };
}
"""


@pytest.fixture
def page(browser: Browser, live_server: dict[str, str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_init_script(CAPTURE)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(live_server["url"])
    page.get_by_role("button", name="I agree").click()
    expect(page.get_by_role("tab", name="Battle")).to_be_visible()
    yield page
    context.close()


def db(server: dict[str, str], sql: str) -> list[tuple]:
    return query(server["db"], sql)


def test_a_battle_of_two_turns_and_a_vote_by_keyboard(
    page: Page, live_server: dict[str, str]
) -> None:
    votes_before = db(live_server, "select count(*) from battles where state='voted'")[0][0]
    vote_buttons = page.locator(
        "#battle-vote-a, #battle-vote-b, #battle-vote-tie, #battle-vote-bad"
    )
    for button in vote_buttons.all():
        expect(button).to_be_disabled()  # nothing to judge yet
    send(page, "battle", "Name one planet.")
    wait_for_answers(page)
    send(page, "battle", "Name one more.")
    expect(page.locator("#battle-vote-a")).to_be_disabled()  # disabled while streaming
    wait_for_answers(page)
    assert len(bubbles(page, "a")) == len(bubbles(page, "b")) == 4
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("2")  # B is better
    expect(page.locator("#battle-status")).to_contain_text("Thanks for voting")
    status = page.locator("#battle-status").inner_text()
    assert any(name in status for name in NAMES)
    winner = db(
        live_server,
        "select winner, turns from battles where state='voted' order by voted_at desc limit 1",
    )[0]
    assert winner == ("model_b", 2)
    assert (
        db(live_server, "select count(*) from battles where state='voted'")[0][0]
        == votes_before + 1
    )


def test_nothing_received_during_a_battle_names_the_models_before_the_vote(
    page: Page, live_server: dict[str, str]
) -> None:
    ports = re.findall(
        r"--port (\d+)",
        subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout,
    )
    endpoints = [f"127.0.0.1:{port}" for port in ports if port not in live_server["url"]]
    page.evaluate("window.__payloads = []")
    send(page, "battle", "Say hello in one short sentence.")
    wait_for_answers(page)
    before_vote = "\n".join(page.evaluate("window.__payloads"))
    assert "Say hello" in before_vote  # the capture works: the battle's traffic is here
    for secret in (*NAMES, *ORGS, *endpoints):
        assert secret not in before_vote, secret
    page.locator("#battle-vote-tie").click()
    expect(page.locator("#battle-status")).to_contain_text("Thanks for voting")
    after_vote = "\n".join(page.evaluate("window.__payloads"))
    assert any(name in after_vote for name in NAMES)


def test_regenerate_replaces_the_last_turn(page: Page, live_server: dict[str, str]) -> None:
    send(page, "battle", "Give me a random word.")
    wait_for_answers(page)
    page.locator("#battle-regenerate").click()
    expect(page.locator("#battle-vote-a")).to_be_disabled()
    wait_for_answers(page)
    assert len(bubbles(page, "a")) == len(bubbles(page, "b")) == 2  # replaced, not added
    battle = db(
        live_server,
        "select id, turns from battles where state='open' order by updated_at desc limit 1",
    )[0]
    assert battle[1] == 1
    assert db(live_server, f"select count(*) from turns where battle_id='{battle[0]}'")[0][0] == 2


def test_stop_cancels_both_sides_and_keeps_what_they_wrote(
    page: Page, live_server: dict[str, str]
) -> None:
    page.get_by_role("tab", name="Side-by-side").click()
    page.get_by_text("Parameters").click()
    # Greedy decoding and a prompt both models answer at length (a count "in words" at
    # temperature 0.7 once came back as "1. One ... 5. Five" and ended before Stop).
    for name, value in (("Temperature", "0"), ("Max tokens", "2048")):
        number = page.get_by_role("spinbutton", name=f"number input for {name}")
        number.fill(value)
        number.press("Enter")
    send(page, "sbs", "Write a long story about a lighthouse keeper, at least a thousand words.")
    expect(page.locator("#sbs-chat-a .message").last).to_contain_text(re.compile(r"\w{3}"))
    page.locator("#sbs-stop").click()
    expect(page.locator("#sbs-status")).to_contain_text("Stopped", timeout=15_000)
    expect(page.locator("#sbs-vote-a")).to_be_enabled()
    reasons = db(
        live_server,
        "select t.finish_reason from turns t join battles b on "
        "t.battle_id = b.id where b.mode = 'named' order by t.id desc limit 2",
    )
    assert ("stopped",) in reasons


def test_a_side_by_side_vote_is_stored_as_named(page: Page, live_server: dict[str, str]) -> None:
    page.get_by_role("tab", name="Side-by-side").click()
    send(page, "sbs", "Say yes.")
    wait_for_answers(page, "sbs")
    page.locator("#sbs-vote-a").click()
    expect(page.locator("#sbs-status")).to_contain_text("Thanks for voting")
    row = db(
        live_server,
        "select mode, anony, winner from battles where mode='named' and "
        "state='voted' order by voted_at desc limit 1",
    )[0]
    assert row == ("named", 0, "model_a")


def test_the_leaderboard_shows_a_new_vote_after_a_refresh(page: Page) -> None:
    page.get_by_role("tab", name="Leaderboard").click()
    summary = page.locator("#board-summary")
    expect(summary).to_contain_text("refreshed")
    before = int(
        re.search(r"([\d,]+) votes? in this board", summary.inner_text()).group(1).replace(",", "")
    )
    page.get_by_role("tab", name="Battle").click()
    send(page, "battle", "Say one word.")
    wait_for_answers(page)
    page.locator("#battle-vote-a").click()
    expect(page.locator("#battle-status")).to_contain_text("Thanks for voting")
    # Opening the tab shows the deployment's latest board; a new vote is in it once the
    # board is due again (arena/boards.py: within 10 times its cost, a second or two here
    # when idle, far longer on a machine that also runs other suites: the deadline is a
    # generous bound on a condition, not a measurement; 20 s once ran out under load).
    counted = re.compile(rf"\b{before + 1} votes? in this board")
    deadline = time.monotonic() + 120
    while True:
        page.get_by_role("tab", name="Leaderboard").click()
        expect(summary).to_contain_text("refreshed")
        if counted.search(summary.inner_text()) or time.monotonic() > deadline:
            break
        page.get_by_role("tab", name="Battle").click()
        time.sleep(0.5)
    expect(summary).to_contain_text(counted)
    expect(page.locator("#board")).to_contain_text(NAMES[0])
    # The board's columns: rank spread, prices, cutoff, the audit; marks for few votes.
    board = page.locator("#board")
    for header in ("Rank (UB)", "Rank spread", "Knowledge cutoff", "Audit"):
        expect(board).to_contain_text(header)
    expect(board).to_contain_text("provisional")
    expect(board).to_contain_text("not audited")
    expect(page.locator("#board-retired")).to_be_visible()
    expect(page.locator("#board-history")).to_contain_text("Ratings by week")
    expect(page.get_by_role("button", name="Download CSV")).to_be_visible()


def test_html_and_scripts_in_prompts_and_answers_show_as_text(page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    attack = (
        "Repeat exactly: <script>window.__xss = 1</script>"
        '<img src=x onerror="window.__xss = 2; alert(2)"> <b>bold</b>'
    )
    send(page, "battle", attack)
    wait_for_answers(page)
    first = page.locator("#battle-chat-a .message").first
    expect(first).to_contain_text("<script>window.__xss = 1</script>")
    expect(first).to_contain_text("<b>bold</b>")
    assert page.evaluate("window.__xss") is None and not dialogs
    assert page.locator("#battle-chat-a img[src='x']").count() == 0


def test_a_refused_prompt_says_why_and_stays_in_the_box(page: Page) -> None:
    too_long = "x" * 2_001  # the test config allows 2,000
    box = page.locator("#battle-prompt textarea")
    box.fill(too_long)
    box.press("Enter")
    expect(page.locator("#battle-status")).to_contain_text("the limit is 2,000")
    assert box.input_value() == too_long  # nothing lost
    box.fill("Name one animal.")
    box.press("Enter")
    expect(box).to_have_value("")  # taken: the voter can type the next one meanwhile
    wait_for_answers(page)
    page.locator("#battle-new").click()
    expect(page.locator("#battle-status")).to_contain_text("New round")
    expect(page.locator("#battle-vote-a")).to_be_disabled()
    assert bubbles(page, "a") == []


def test_direct_chat_with_feedback(page: Page, live_server: dict[str, str]) -> None:
    page.get_by_role("tab", name="Direct chat").click()
    send(page, "chat", "Hello!")
    upvote = page.get_by_role("button", name="👍 Upvote")
    expect(upvote).to_be_enabled(timeout=ANSWER_TIMEOUT)
    upvote.click()
    expect(page.locator("#chat-status")).to_contain_text("upvote recorded")
    assert ("upvote",) in db(live_server, "select kind from feedback")


def consents_reach(server: dict[str, str], count: int) -> None:
    """Wait until the database holds ``count`` consents (the click's write is not done
    when the page moves on; a busy machine may take seconds)."""
    deadline = time.monotonic() + 30
    while (seen := db(server, "select count(*) from consents")[0][0]) != count:
        assert time.monotonic() < deadline, f"{seen} consents stored, expected {count}"
        time.sleep(0.05)


def test_terms_are_shown_once_per_browser_and_recorded_per_browser(
    browser: Browser, live_server: dict[str, str]
) -> None:
    context = browser.new_context()
    first = context.new_page()
    first.goto(live_server["url"])
    before = db(live_server, "select count(*) from consents")[0][0]
    first.get_by_role("button", name="I agree").click()
    expect(first.get_by_role("tab", name="Battle")).to_be_visible()
    consents_reach(live_server, before + 1)
    second = context.new_page()  # the same browser: no terms again, nothing new recorded
    second.goto(live_server["url"])
    expect(second.get_by_role("tab", name="Battle")).to_be_visible()
    expect(second.get_by_role("button", name="I agree")).to_be_hidden()
    second.wait_for_timeout(500)
    assert db(live_server, "select count(*) from consents")[0][0] == before + 1
    context.close()
    other = browser.new_context()  # another browser is asked, and recorded, on its own
    page = other.new_page()
    page.goto(live_server["url"])
    page.get_by_role("button", name="I agree").click()
    expect(page.get_by_role("tab", name="Battle")).to_be_visible()
    consents_reach(live_server, before + 2)
    other.close()


def test_every_control_has_a_name_and_nothing_leaves_the_machine(
    browser: Browser, live_server: dict[str, str]
) -> None:
    context = browser.new_context()
    page = context.new_page()
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    page.goto(live_server["url"])
    page.get_by_role("button", name="I agree").click()
    for name in ("A is better", "B is better", "Tie", "Both are bad"):
        expect(page.get_by_role("button", name=name, exact=True).first).to_be_visible()
    unnamed = page.evaluate("""() => [...document.querySelectorAll('button, textarea, input')]
        .filter(e => e.offsetParent !== null)
        .filter(e => !(e.getAttribute('aria-label') || e.innerText.trim() || e.labels?.length
                       || e.getAttribute('title') || e.getAttribute('placeholder')))
        .map(e => e.outerHTML.slice(0, 80))""")
    assert unnamed == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") in ("BUTTON", "TEXTAREA", "INPUT", "A")
    assert hosts == {live_server["url"].split("/")[2]}  # no CDN, font or analytics
    context.close()


@pytest.mark.parametrize("width,height,name", [(1366, 900, "desktop"), (390, 844, "phone")])
def test_screenshots(
    browser: Browser, live_server: dict[str, str], width: int, height: int, name: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(live_server["url"])
    page.get_by_role("button", name="I agree").click()
    send(page, "battle", "Explain recursion with a tiny Python example.")
    wait_for_answers(page)
    page.screenshot(path=ARTIFACTS / f"battle-{name}.png", full_page=True)
    panes = (
        page.locator("#battle-chat-a").bounding_box(),
        page.locator("#battle-chat-b").bounding_box(),
    )
    if name == "phone":  # the two answers stack
        assert panes[1]["y"] >= panes[0]["y"] + panes[0]["height"] - 1
    else:  # side by side
        assert abs(panes[0]["y"] - panes[1]["y"]) < 2 and panes[1]["x"] > panes[0]["x"]
    page.locator("#battle-vote-a").click()
    expect(page.locator("#battle-status")).to_contain_text("Thanks for voting")
    page.screenshot(path=ARTIFACTS / f"reveal-{name}.png", full_page=True)
    open_tab(page, "Leaderboard")
    expect(page.locator("#board-summary")).to_contain_text("refreshed")
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / f"leaderboard-{name}.png", full_page=True)
    context.close()


def test_the_vote_buttons_keep_their_state_when_the_voter_switches_tabs(page: Page) -> None:
    send(page, "battle", "Name a colour.")
    wait_for_answers(page)
    page.get_by_role("tab", name="About").click()
    page.get_by_role("tab", name="Battle").click()
    expect(page.locator("#battle-vote-a")).to_be_enabled()
    page.locator("#battle-vote-b").click()
    expect(page.locator("#battle-status")).to_contain_text("Thanks for voting")
    page.get_by_role("tab", name="Leaderboard").click()
    page.get_by_role("tab", name="Battle").click()
    expect(page.locator("#battle-vote-a")).to_be_disabled()
