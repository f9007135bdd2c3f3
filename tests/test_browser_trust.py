"""What a model's answer and another web site can make a voter's browser do, probed in
Debian's Chromium as an attacker would: the arena on stand-in models that repeat what
they are asked (tests/wire.py: "You said: ..."), so an answer holds exactly what the
attacker chose; a tracker and an attacker's page on other ports of 127.0.0.1."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from arena.backends.supervisor import free_port
from tests.browser import browser, send, wait_for_answers, wire_arena
from tests.conftest import query

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect  # noqa: E402

__all__ = ["browser"]  # the fixture, found by pytest here


class Site:
    """A web server of the attacker's on 127.0.0.1: it records every request it gets
    (a tracker) and serves ``page`` at ``/`` (a page of another origin)."""

    def __init__(self, page: str = "") -> None:
        self.requests: list[str] = []
        self.page = page
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                site.requests.append(self.path)
                body = site.page.encode() if self.path == "/" else b"GIF89a"
                self.send_response(200)
                self.send_header("Content-Type", "text/html" if self.path == "/" else "image/gif")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    def __enter__(self) -> Site:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def open_page(browser: Browser, url: str) -> tuple[Page, list[str]]:
    """A new browser on the arena's page; the Content-Security-Policy violations it
    reports are collected."""
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(url)
    return page, violations


def test_an_answer_never_makes_the_page_fetch_cover_or_post_anything(
    browser: Browser, tmp_path: Path
) -> None:
    with Site() as tracker, wire_arena(tmp_path) as (url, _):
        page, violations = open_page(browser, url)
        attack = (
            f"Look: ![chart]({tracker.url}/track-pixel-1) and "
            f"[![x]({tracker.url}/track-linked)](https://example.org)\n\n"
            # a backslash before a backtick: the old escaping saw a code span here
            '\\`<div class="overlay" style="position:fixed;inset:0;z-index:99;'
            'background:red">covered</div>`…`\n\n'
            f'<form action="{tracker.url}/form"><input name="secret"></form>\n\n'
            f'<svg><image href="{tracker.url}/track-svg"/></svg> '
            f'<img src="{tracker.url}/track-img">\n\n'
            "![embedded](data:image/gif;base64,R0lGODlhAQABAAAAACw=)\n\n"
            # KaTeX would draw this as a red banner over the pane
            "$$\\colorbox{red}{\\Huge\\text{VOTE A}}\\rule{1500px}{1500px}$$"
        )
        send(page, "battle", attack)
        wait_for_answers(page)
        panes = page.locator("#battle-chat-a .message-content, #battle-chat-b .message-content")
        answer = page.locator("#battle-chat-a .message.bot").last
        expect(answer).to_contain_text("[image: chart, from 127.0.0.1]")  # a link, not a load
        expect(answer).to_contain_text('<div class="overlay"')  # shown as text
        expect(answer).to_contain_text("<svg>")
        assert panes.locator("img, svg, form, input, iframe, [style*=fixed], .katex").count() == 0
        link = answer.get_by_role("link", name="[image: chart, from 127.0.0.1]")
        assert link.get_attribute("href") == f"{tracker.url}/track-pixel-1"
        assert "noreferrer" in (link.get_attribute("rel") or "")
        page.locator("#battle-vote-a").click()  # the vote button is not covered
        expect(page.locator("#battle-status")).to_contain_text("Thanks for voting")
        assert tracker.requests == []  # nothing reached the tracker
        assert violations == []  # and nothing even tried (the policy had nothing to block)


def test_code_blocks_are_highlighted_and_copied_as_text(browser: Browser, tmp_path: Path) -> None:
    with wire_arena(tmp_path) as (url, _):
        page, violations = open_page(browser, url)
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        send(page, "battle", "Here:\n```python\ndef f(x):\n    return '<b>' + x\n```")
        wait_for_answers(page)
        answer = page.locator("#battle-chat-a .message.bot").last
        keyword = answer.locator("pre code span.k").first
        expect(keyword).to_have_text("def")
        assert keyword.evaluate("e => getComputedStyle(e).color") != answer.locator(
            "pre code span.nf"
        ).first.evaluate("e => getComputedStyle(e).color")  # highlighted
        answer.locator("button.copy_code_button").click()
        assert page.evaluate("navigator.clipboard.readText()") == (
            "def f(x):\n    return '<b>' + x"
        )
        page.locator(
            "#battle-chat-a .message-buttons button[aria-label='Copy message']"
        ).last.click()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("You said: Here:") and "<span" not in copied  # text, not HTML
        assert violations == []


def test_the_policy_blocks_what_a_sanitiser_bypass_would_load(
    browser: Browser, tmp_path: Path
) -> None:
    """Defence in depth: an image or script from elsewhere, put into the page as if an
    answer had got through the renderer, is not fetched; the page itself works (its
    scripts, Gradio's and the proof of work's, all run under the policy)."""
    with (
        Site() as tracker,
        wire_arena(tmp_path, proof_of_work='"on"', proof_work=5000) as (
            url,
            db,
        ),
    ):
        page, violations = open_page(browser, url)
        proofs: list[int] = []
        page.on(
            "response",
            lambda r: proofs.append(r.status) if r.url.endswith("/api/proof") else None,
        )
        send(page, "battle", "Hello")
        wait_for_answers(page)
        page.locator("#battle-vote-b").click()
        expect(page.locator("#battle-status")).to_contain_text("Thanks for voting")
        assert violations == []
        page.evaluate(
            """(tracker) => {
              const pane = document.querySelector('#battle-chat-a .message-content');
              pane.insertAdjacentHTML('beforeend',
                `<img src="${tracker}/bypass-img">` +
                `<svg><image href="${tracker}/bypass-svg"/></svg>`);
              const s = document.createElement('script');
              s.src = `${tracker}/bypass.js`;
              document.body.appendChild(s);
            }""",
            tracker.url,
        )
        for _ in range(300):  # the browser reports each block it makes
            if len(violations) >= 2:
                break
            page.wait_for_timeout(100)
        assert tracker.requests == []
        assert len(violations) >= 2
        assert 200 in proofs  # the page's proof of work was solved and accepted
    assert query(db, "select winner, invalid_reason from battles") == [("model_b", None)]


ATTACKER_PAGE = """<!doctype html><script>
window.results = {};
const arena = "ARENA";
const post = (path, body) => fetch(arena + path, {method: "POST", credentials: "include",
  headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
  .then(r => r.status, e => "blocked: " + e.name);
(async () => {
  results.turn = await post("/api/turn", {battle: null, prompt: "planted by another site"});
  results.simple = await fetch(arena + "/api/turn", {method: "POST", credentials: "include",
    mode: "no-cors", headers: {"Content-Type": "text/plain"},
    body: JSON.stringify({battle: null, prompt: "planted without a preflight"})})
    .then(r => r.type, e => "blocked: " + e.name);
  results.call = await post("/gradio_api/call/send", {data: ["planted through gradio"]});
  results.read = await fetch(arena + "/api/models", {credentials: "include"})
    .then(r => r.status, e => "blocked: " + e.name);
  results.done = true;
})();
</script>"""


def test_another_site_cannot_start_vote_or_read_as_the_voter(
    browser: Browser, tmp_path: Path
) -> None:
    with wire_arena(tmp_path) as (url, db):
        arena = url.rstrip("/")
        with Site(ATTACKER_PAGE.replace("ARENA", arena)) as attacker:
            context = browser.new_context()
            page = context.new_page()
            page.goto(url)  # the voter's cookie, SameSite=Lax: sent from the same site
            send(page, "battle", "My own prompt")
            wait_for_answers(page)
            evil = context.new_page()  # another origin: same host, another port
            evil.goto(attacker.url)
            evil.wait_for_function("() => window.results && window.results.done", timeout=30_000)
            results = evil.evaluate("window.results")
            context.close()
    assert str(results["turn"]).startswith("blocked"), results  # its preflight was refused
    assert str(results["call"]).startswith("blocked"), results
    assert str(results["read"]).startswith("blocked"), results  # no credentialed CORS
    prompts = [p for (p,) in query(db, "select prompt from turns")]
    assert prompts and all(p == "My own prompt" for p in prompts), prompts
