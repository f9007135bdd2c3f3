"""Text the databases cannot store, made storable where it enters the store.

Prompts and answers are untrusted: a JSON string may carry a lone UTF-16 surrogate
(``"\\ud800"``), which no UTF-8 database can encode (``UnicodeEncodeError`` on SQLite
and PostgreSQL alike), and NUL (``"\\u0000"``), which PostgreSQL's text refuses. Every
statement's parameters pass through :func:`clean_parameters` (an engine event, see
:mod:`arena.store.engine`) and every JSON value through :func:`json_serializer`, so
every writer is covered: battles, turns, feedback, audits, whatever comes next.

Cleaning happens here, once per stored value, not at a backend's decode: there it
would cost every token on the streaming path, miss the writers that are not
backends (a prompt from the page, the Gradio API, an audit report), and turn a
surrogate pair split across two stream events into two U+FFFD, where the whole
answer, cleaned here, joins the pair into its one character.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["clean_parameters", "clean_text", "json_serializer"]

REPLACEMENT = "\ufffd"


def _unstorable(text: str) -> bool:
    """Whether ``text`` holds NUL or a surrogate (cheap for the usual clean text)."""
    if "\x00" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean_text(text: str) -> str:
    """``text`` as every database stores it: a high and a low surrogate side by side
    joined into their character, any other surrogate replaced by U+FFFD, NUL removed.
    Clean text is returned as it is."""
    if not _unstorable(text):
        return text
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return joined.replace("\x00", "")


def _clean_value(value: Any) -> Any:
    return clean_text(value) if type(value) is str else value


def _clean_row(row: Any) -> Any:
    """One statement's parameters (a tuple, list or dict), cleaned; the same object
    when there was nothing to clean (the usual case costs one pass, no copy)."""
    if isinstance(row, dict):
        if not any(type(v) is str and _unstorable(v) for v in row.values()):
            return row
        return {k: _clean_value(v) for k, v in row.items()}
    if isinstance(row, tuple | list):
        if not any(type(v) is str and _unstorable(v) for v in row):
            return row
        cleaned = [_clean_value(v) for v in row]
        return tuple(cleaned) if isinstance(row, tuple) else cleaned
    return row


def clean_parameters(
    _conn: Any,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    executemany: bool,
) -> tuple[str, Any]:
    """SQLAlchemy's ``before_cursor_execute`` hook (``retval=True``): every string the
    statement sends the database, cleaned by :func:`clean_text`."""
    if executemany:
        return statement, [_clean_row(row) for row in parameters]
    return statement, _clean_row(parameters)


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {_clean_json(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    return value


def json_serializer(value: Any) -> str:
    """JSON columns' serializer: ``json.dumps`` (ASCII, escapes as before), with every
    string in ``value`` cleaned first when an escape of NUL or a surrogate shows up
    (PostgreSQL keeps ``\\ud800`` in a json column, then fails to read it out)."""
    dumped = json.dumps(value)
    if "\\u0000" in dumped or "\\ud" in dumped:  # "\\ud" also meets Hangul: harmless
        return json.dumps(_clean_json(value))
    return dumped
