"""Debian's Chromium for the page's tests (tests/test_browser*.py): the browser, what a
voter does on the page, and the arena on stand-in models (tests/wire.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT, db_url, serve
from tests.test_faults import NO_LIMITS
from tests.wire import WireServer, write_config

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

__all__ = [
    "ANSWER_TIMEOUT",
    "ARTIFACTS",
    "CHROMIUM",
    "browser",
    "bubbles",
    "open_tab",
    "send",
    "wait_for_answers",
    "wire_arena",
]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(
        "needs Debian's chromium (apt-get install chromium; make test does it)",
        allow_module_level=True,
    )

ARTIFACTS = ROOT / "test-artifacts"
ANSWER_TIMEOUT = 120_000
# An assertion waits up to 30 s, not playwright's 5: on a machine whose cores are busy
# elsewhere, a fresh process's first board fit alone took longer than 5 s.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


def send(page: Page, prefix: str, text: str) -> None:
    box = page.locator(f"#{prefix}-prompt textarea")
    box.fill(text)
    box.press("Enter")


def wait_for_answers(page: Page, prefix: str = "battle") -> None:
    expect(page.locator(f"#{prefix}-vote-a")).to_be_enabled(timeout=ANSWER_TIMEOUT)


def bubbles(page: Page, side: str, prefix: str = "battle") -> list[str]:
    return page.locator(f"#{prefix}-chat-{side} .message").all_inner_texts()


def open_tab(page: Page, name: str) -> None:
    """Click a tab, through the "More tabs" menu where a narrow screen folds it away."""
    tab = page.get_by_role("tab", name=name)
    if not tab.is_visible():
        page.get_by_role("button", name="More tabs").click()
        tab = page.get_by_role("button", name=name, exact=True).last
    tab.click()


@contextmanager
def wire_arena(
    tmp_path: Path,
    models: dict[str, dict[str, object]] | None = None,
    env: dict[str, str] | None = None,
    **settings: object,
) -> Iterator[tuple[str, str]]:
    """The arena (``run_arena.py serve``) on two stand-in models, ``m-a`` and ``m-b``,
    that answer "You said: <prompt>" (``models``: keys per model; ``settings``: the
    ``[arena]`` table, the rate limits off unless given); its URL and database."""
    with WireServer() as wire:
        config = tmp_path / "arena.toml"
        write_config(config, wire, ["m-a", "m-b"], models, **{**NO_LIMITS, **settings})
        db = db_url(tmp_path)
        with serve(config, db, tmp_path, env) as (_, url):
            yield url, db
