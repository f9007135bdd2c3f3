"""Prompts and answers as HTML a voter's browser can show safely.

Prompts and answers are untrusted: a model's owner writes its answers and may want to
identify voters (a tracking pixel), hide its rival (an overlay) or post a form. So
they never reach the page as markdown for the browser to interpret. Here:

1. markdown-it-py parses the text with raw HTML off (any HTML in it is shown as text);
2. images are never loaded: an image becomes a link showing its host (``[image: a
   chart, from tracker.example]``), an embedded ``data:`` image its description alone;
   code blocks are highlighted by Pygments and get the copy button Gradio's own code
   blocks have;
3. nh3 (the Rust ``ammonia`` sanitiser) keeps only an allowlist of tags, attributes,
   classes and URL schemes (``http``, ``https``, ``mailto``), and gives every link
   ``rel="noopener noreferrer nofollow"`` and a new tab.

The Chatbot shows the result as HTML (``render_markdown=False`` in
:func:`arena.ui.common.chatbot`), sanitised once more by Gradio; the page's
Content-Security-Policy (:mod:`arena.guard`) lets no image load from elsewhere
whatever reaches it.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import format as format_tokens
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

from arena.battles import SideState, TurnStart
from arena.content import Message, Part, Text
from arena.store import TurnRecord

__all__ = ["answer_text", "chat_of", "live_chat", "placeholder_chat", "safe_markdown"]

# Code is highlighted only in these languages (Pygments' names and aliases), only up to
# this length, and only while a text's CPU budget for it lasts (see _highlighted).
HIGHLIGHTED = frozenset(
    "python py python3 javascript js typescript ts json bash sh shell zsh console c cpp "
    "c++ csharp cs java go golang rust rs sql html xml css scss yaml yml toml ini diff "
    "ruby rb php kotlin swift r lua perl haskell scala dart julia matlab latex tex "
    "markdown md dockerfile makefile".split()
)
HIGHLIGHT_MAX_CHARS = 8_000
HIGHLIGHT_BUDGET_S = 0.02
# Text longer than this is shown plain: markdown built to be slow ("*[" repeated)
# takes about 25 µs a character, so 1 s at most on the event loop here (ordinary prose
# takes 0.2 µs). Answers themselves stop at arena.answers.MAX_ANSWER_CHARS.
RENDER_MAX_CHARS = 40_000
# Invisible controls that reverse or isolate the text after them: they can make a link
# read as another address ("\u202egro.elpmaxe.knab//:sptth"). Dropped before rendering.
BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])

# markdown-it pads every short table row to the header's width, up to 65,536 cells a
# table: a 2 KB table of 256 columns and empty rows rendered to 0.7 MB of HTML in 1.5 s.
# Short rows are padded up to 100 cells a table in all; past that the rest is not a
# table (a table a model writes pads few cells, if any).
_table_rule = importlib.import_module("markdown_it.rules_block.table")
_table_rule.MAX_AUTOCOMPLETED_CELLS = 100  # type: ignore[attr-defined]

# Gradio's own copy button for code blocks (its markdown renderer's), so its click
# handler copies the block (the text of the button's parent, so the button holds no
# text: its glyphs come from static/arena.css, since the sanitiser lets no SVG through).
COPY_BUTTON = (
    '<button title="copy" class="copy_code_button">'
    '<span class="copy-text"></span><span class="check"></span></button>'
)

_CODE_CLASSES = {c for c in STANDARD_TYPES.values() if c}
_SANITISER = nh3.Cleaner(
    tags={
        *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"),
        *("strong", "em", "del", "s", "code", "pre", "span", "div", "button"),
        *("ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a"),
    },
    attributes={
        "a": {"href"},
        "ol": {"start"},
        "button": {"title"},
        "th": {"style"},
        "td": {"style"},
    },
    allowed_classes={
        "div": {"code_wrap", "arena-plain"},
        "button": {"copy_code_button"},
        "span": {"copy-text", "check", "arena-image", "arena-host", *_CODE_CLASSES},
    },
    filter_style_properties={"text-align"},
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)


_HERE = "https://arena.invalid/"  # stands for the page's own address


# http(s) with its slashes left out or turned: a browser still reads a host after it.
_WEB_SCHEME = re.compile(r"(?i)^(https?):[/\\]*")


def _link_host(href: str) -> str | None:
    """The host a link leads to as the browser resolves it against the page, None for
    the arena's own (a relative link) or a link without one (``mailto:``): a
    protocol-relative ``//evil.example`` and ``http:evil.example`` go to evil.example."""
    href = _WEB_SCHEME.sub(lambda m: f"{m.group(1)}://", href.strip(), count=1)
    host = urlsplit(urljoin(_HERE, href)).hostname
    return None if host == urlsplit(_HERE).hostname else host


def _image(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """An image as words, never as a request: a link naming its host, or (for an
    embedded ``data:`` image) its description alone."""
    token = tokens[idx]
    alt = escapeHtml(self.renderInlineAsText(token.children or [], options, env) or "image")
    src = str(token.attrGet("src") or "")
    host = _link_host(src)
    if host:
        return f'<a href="{escapeHtml(src)}">[image: {alt}, from {escapeHtml(host)}]</a>'
    return f'<span class="arena-image">[image: {alt}]</span>'


def _code(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """A code block, highlighted when its language is named, with a copy button."""
    token = tokens[idx]
    language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else ""
    code = _highlighted(token.content, language, env)
    return f'<div class="code_wrap">{COPY_BUTTON}<pre><code>{code}</code></pre></div>'


def _highlighted(code: str, language: str, env: EnvType) -> str:
    """``code`` as HTML, highlighted when its language is one of :data:`HIGHLIGHTED`
    and the text's CPU budget for highlighting (``env["budget_s"]``) lasts.

    Pygments' lexers are regular expressions, some slower than linear on hostile input
    (a block of tabs named ``easytrieve``: 28 s for 2,000 characters; ``csharp`` on
    ``"a\n "`` repeated: 8 s for 8,000), and a render runs on the server's event loop.
    So the lexer is stopped at the budget, checked at every token, and the block shown
    plain."""
    lexer = _lexer(language.lower()) if len(code) <= HIGHLIGHT_MAX_CHARS else None
    if lexer is None or env.get("budget_s", 0) <= 0:
        return escapeHtml(code)
    started = time.thread_time()
    deadline = started + env["budget_s"]
    tokens = []
    for token in lexer.get_tokens(code):
        tokens.append(token)
        if time.thread_time() > deadline:
            env["budget_s"] = 0
            return escapeHtml(code)
    env["budget_s"] -= time.thread_time() - started
    return str(format_tokens(tokens, _FORMATTER))


@lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer | None:
    if language not in HIGHLIGHTED:
        return None
    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return None


_FORMATTER = HtmlFormatter(nowrap=True)


def _link_close(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """The end of a link, followed by the host it goes to unless its text says so
    already (``[https://bank.example](https://evil.example)`` reads "... (evil.example)")."""
    depth, start, words = 0, idx - 1, []
    while start >= 0:
        token = tokens[start]
        if token.type == "link_close":
            depth += 1
        elif token.type == "link_open":
            if depth == 0:
                break
            depth -= 1
        elif token.type in ("text", "code_inline"):
            words.append(token.content)
        start -= 1
    closed = str(self.renderToken(tokens, idx, options, env))
    href = str(tokens[start].attrGet("href") or "") if start >= 0 else ""
    host = _link_host(href)
    label = "".join(reversed(words)).strip()
    if not host or label in (href, host) or label.startswith("[image: "):
        return closed
    return f'{closed} <span class="arena-host">({escapeHtml(host)})</span>'


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _image)
    md.add_render_rule("fence", _code)
    md.add_render_rule("code_block", _code)
    md.add_render_rule("link_close", _link_close)
    return md


_MARKDOWN = _parser()


def safe_markdown(text: str) -> str:
    """``text`` (markdown from a voter or a model) as sanitised HTML: HTML in it shown
    as text, images as links naming their host, every link followed by its host,
    nothing that runs, loads or restyles the page. A text over ``RENDER_MAX_CHARS`` is
    shown plain."""
    text = text.translate(BIDI_CONTROLS)
    if len(text) > RENDER_MAX_CHARS:
        return _plain(text)
    return _rendered(text) if len(text) <= SHORT_CHARS else _rendered_long(text)


def _render(text: str) -> str:
    html = _MARKDOWN.render(text, {"budget_s": HIGHLIGHT_BUDGET_S})
    return _SANITISER.clean(html).strip()


# A pane shows every earlier turn again after each turn, so renders are kept: the
# prompts and answers of a few hundred battles at once. Sized by length, so hostile
# texts cannot make the cache large: 4,096 texts up to 4,000 characters, 256 longer
# ones (up to RENDER_MAX_CHARS): at most ~100 MB with their HTML however hostile.
SHORT_CHARS = 4_000
_rendered = lru_cache(maxsize=4096)(_render)
_rendered_long = lru_cache(maxsize=256)(_render)


def answer_text(text: str, error: str | None, stopped: bool = False) -> str:
    shown = safe_markdown(text)
    if error:
        failed = f"<p>⚠️ <strong>This answer failed:</strong> {escapeHtml(error)}</p>"
        return shown + _SANITISER.clean(failed)
    if stopped:
        return (shown or "<p>…</p>") + "<p><em>(stopped)</em></p>"
    return shown


def parts_html(parts: Sequence[Part]) -> str:
    """The one renderer of a message's content: each part as sanitised HTML, a text
    part through the markdown renderer (:func:`safe_markdown`)."""
    html = []
    for part in parts:
        match part:
            case Text(text):
                html.append(safe_markdown(text))
    return "".join(html)


def prompt_html(prompt: str) -> str:
    """A prompt as the panes show it."""
    return parts_html(Message.user(prompt).parts)


def chat_of(turns: list[TurnRecord], side: str) -> list[dict[str, str]]:
    """A side's finished turns as Chatbot messages."""
    messages = []
    for t in turns:
        if t.side == side:
            messages.append({"role": "user", "content": prompt_html(t.prompt)})
            messages.append(
                {
                    "role": "assistant",
                    "content": answer_text(t.answer, t.error, t.finish_reason == "stopped"),
                }
            )
    return messages


def live_chat(
    chat: list[dict[str, str]], prompt: str, side: SideState, waiting: str = ""
) -> list[dict[str, str]]:
    """Finished turns plus the one streaming now. An answer still streaming is shown as
    plain text (as the battle panes show it) and rendered once it is done: rendering
    the whole answer again at every chunk would cost its length squared. ``waiting``:
    the arena's own words in the answer's place while the turn waits in line."""
    if waiting:
        answer = safe_markdown(waiting)
    elif side.done or side.error or side.stopped:
        answer = answer_text(side.text, side.error, side.stopped) or "…"
    else:
        answer = _plain(side.text) if side.text else "…"
    return [
        *chat,
        {"role": "user", "content": prompt_html(prompt)},
        {"role": "assistant", "content": answer},
    ]


def _plain(text: str) -> str:
    return f'<div class="arena-plain">{escapeHtml(text)}</div>'


def placeholder_chat(start: TurnStart, side: str) -> list[dict[str, str]]:
    """A side's pane as a turn starts: its finished turns, the new prompt and an empty
    answer that the page's script fills from the turn's stream (static/arena.js)."""
    return [
        *chat_of(start.history, side),
        {"role": "user", "content": prompt_html(start.prompt)},
        {"role": "assistant", "content": "…"},
    ]
