"""arena/web/render.py: prompts and answers as HTML, on inputs an attacker writes (the
browser's side of it is in tests/test_browser_trust.py)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from arena.web.render import HIGHLIGHT_BUDGET_S, RENDER_MAX_CHARS, safe_markdown

pytestmark = pytest.mark.no_database  # run once, on SQLite (tests/conftest.py)

ALLOWED_TAGS = {
    *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "strong", "em"),
    *("del", "s", "code", "pre", "span", "div", "button", "ul", "ol", "li", "table"),
    *("thead", "tbody", "tr", "th", "td", "a"),
}


class Tags(HTMLParser):
    """Every tag and attribute of an HTML fragment, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


ATTACKS = [
    "<script>alert(1)</script><img src=x onerror=alert(2)>",
    # A backslash before a backtick: the old regex saw a code span and let this through.
    '\\`<div style="position:fixed;inset:0;z-index:99">covered</div>`…`',
    '<form action="http://evil.example/f"><input name=a></form>',
    '<svg><image href="http://evil.example/s"/></svg><iframe src="http://evil.example">',
    "[x](javascript:alert(1)) [y](JAVASCRIPT&colon;alert(1)) [z](data:text/html,<b>)",
    '<a href="http://evil.example" style="position:fixed">x</a>',
    "```\n</code></pre><img src=http://evil.example/c>\n```",
    "`</code><img src=http://evil.example/i>`",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_markup_in_a_prompt_or_answer_never_becomes_markup(attack: str) -> None:
    for tag, attrs in Tags(safe_markdown(attack)).tags:
        assert tag in ALLOWED_TAGS, (tag, attack)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert attrs.get("style") in (None,), (tag, attrs)
        href = attrs.get("href") or ""
        assert not href or href.startswith(("http://", "https://", "mailto:")), href


def test_an_image_is_a_link_naming_its_host_never_an_image() -> None:
    html = safe_markdown("![chart](http://tracker.example/p?id=1) ![e](data:image/gif;base64,R0)")
    tags = Tags(html).tags
    assert "img" not in {t for t, _ in tags}
    assert ("a", {"href": "http://tracker.example/p?id=1", "target": "_blank",
                  "rel": "noopener noreferrer nofollow"}) in tags  # fmt: skip
    assert "[image: chart, from tracker.example]" in html and "[image: e]" in html
    # The same host rule as a link's: a protocol-relative image names its host too.
    assert "[image: p, from tracker.example]" in safe_markdown("![p](//tracker.example/p)")


def test_a_link_shows_the_host_it_goes_to_unless_its_text_is_the_address() -> None:
    html = safe_markdown("[https://bank.example/login](https://evil.example/x)")
    assert "(evil.example)" in html
    # Protocol-relative: the browser goes to the other host too.
    assert "(evil.example)" in safe_markdown("[docs.python.org](//evil.example/x)")
    assert "(evil.example)" in safe_markdown("[docs.python.org](http:evil.example/x)")
    assert "arena-host" not in safe_markdown("[our board](/share/abc)")  # the arena's own
    plain = safe_markdown("<https://python.org/docs>")
    assert "(python.org)" not in plain and ">https://python.org/docs</a>" in plain


def test_controls_that_reverse_text_are_dropped() -> None:
    html = safe_markdown("[\u202egro.elpmaxe.knab//:sptth](https://evil.example/) \u2067x\u2069")
    assert not {"\u202e", "\u2067", "\u2069"} & set(html)
    assert "(evil.example)" in html


def test_code_is_highlighted_and_its_html_shown_as_text() -> None:
    html = safe_markdown("```python\ndef f():\n    return '<b>'\n```")
    assert '<span class="k">def</span>' in html and "&lt;b&gt;" in html
    assert 'class="copy_code_button"' in html


@pytest.mark.parametrize(
    "block",
    [
        "```easytrieve\n" + "\t" * 2000 + "\n```",  # no such lexer is used (28 s once)
        "```csharp\n" + "a\n " * 2600 + "\n```",  # a common one, slower than linear
    ],
)
def test_a_lexer_that_would_take_seconds_is_stopped_and_the_code_shown_plain(block: str) -> None:
    """Unhighlighted within the budget (20 ms of CPU; the csharp block takes Pygments
    about 8 s), so a hostile answer cannot hold the server's event loop."""
    assert HIGHLIGHT_BUDGET_S <= 0.05
    html = safe_markdown(block)
    assert '<span class="' not in html.replace('<span class="copy-text">', "").replace(
        '<span class="check">', ""
    )


def test_a_table_of_empty_rows_cannot_swell_into_megabytes() -> None:
    table = "|" + "a|" * 256 + "\n|" + ":-:|" * 256 + "\n" + "|\n" * 256
    html = safe_markdown(table * 6)
    assert len(html) < 300_000  # 14 MB before the padding was bounded
    ordinary = safe_markdown("| a | b |\n|---|--:|\n| 1 | 2 |\n| 3 |")
    assert ordinary.count("<td") == 4 and 'style="text-align:right"' in ordinary


def test_a_huge_text_is_shown_plain() -> None:
    html = safe_markdown("**x** " * (RENDER_MAX_CHARS // 6 + 1))
    assert html.startswith('<div class="arena-plain">') and "<strong>" not in html
