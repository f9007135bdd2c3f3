"""What each ``[arena]`` setting may hold, checked one way whatever its source.

A value reaches a setting from ``arena.toml``, an ``ARENA_<SETTING>`` variable or a
command-line flag; :func:`problem` judges it for all three, and
:mod:`arena.config.load` puts the source in front of the same words. A variable is
text, read first as its setting's type (:func:`from_text`): an integer or a number as
TOML writes one, a table or a list as a TOML inline value (``ARENA_TAGS='{math =
"integral"}'``), and true or false as ``true``/``false``, ``1``/``0``, ``yes``/``no``
or ``on``/``off`` (any case). What the file refuses is then refused from the
environment too: ``ARENA_PROOF_OF_WORK=yes`` is not a way to say ``on``, and no value
turns a protection off unless it is the value documented to do so.

The rules: the setting's type (its annotation); integers 0 or more and numbers finite
and 0 or more unless :data:`RULES` says otherwise; choices, ranges and regular
expressions in :data:`RULES`.
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
import typing
from collections.abc import Callable
from typing import Any

from arena.config.settings import ArenaSettings
from arena.errors import excerpt

# The most of a refused value a message quotes.
QUOTED_CHARS = 60

__all__ = [
    "QUOTED_CHARS",
    "RULES",
    "TRUTH",
    "from_text",
    "problem",
    "type_name",
    "type_of",
    "type_problem",
]

Rule = Callable[[Any], "str | None"]  # the problem ("should be ..."), or None

# The words an ARENA_* variable may give a true-or-false setting.
TRUTH = {"true": True, "1": True, "yes": True, "on": True}
TRUTH |= {"false": False, "0": False, "no": False, "off": False}


def at_least(low: float) -> Rule:
    def rule(value: Any) -> str | None:
        return None if value >= low else f"should be {low:g} or more"

    return rule


def between(low: float, high: float, *, open_: bool = False) -> Rule:
    """``low`` <= value <= ``high`` (strictly inside with ``open_``)."""

    def rule(value: Any) -> str | None:
        inside = low < value < high if open_ else low <= value <= high
        if inside:
            return None
        return f"should be {'strictly ' if open_ else ''}between {low:g} and {high:g}"

    return rule


def above(low: float) -> Rule:
    def rule(value: Any) -> str | None:
        return None if value > low else f"should be more than {low:g}"

    return rule


def one_of(*choices: str) -> Rule:
    def rule(value: Any) -> str | None:
        return None if value in choices else f"should be {_words(choices)}"

    return rule


def _sampling(value: Any) -> str | None:
    from arena.sampling import POLICIES  # numpy: only when the setting is checked

    return one_of(*POLICIES)(value)


def _not_empty(value: Any) -> str | None:
    return None if value.strip() else "should not be empty"


def _regular_expressions(value: Any) -> str | None:
    for name, pattern in value.items():
        if not isinstance(pattern, str):
            return (
                f"should hold regular expressions: tag {name!r} is {excerpt(pattern, QUOTED_CHARS)}"
            )
        try:
            re.compile(pattern)
        except re.error as exc:
            return (
                f"should hold regular expressions: tag {name!r}: {pattern!r} is not a "
                f"regular expression ({exc})"
            )
    return None


# Settings whose values are narrower than their type's default rule.
RULES: dict[str, Rule] = {
    "db": _not_empty,
    "host": _not_empty,
    "port": between(1, 65535),
    "max_header_bytes": at_least(1024),  # fewer refuses an ordinary browser's request
    "max_prompt_chars": at_least(1),
    "max_turns": at_least(1),
    "sampling": _sampling,
    "target_boost": above(0),
    "new_model_boost": above(0),
    "unhealthy_after": at_least(1),
    "tags": _regular_expressions,
    "monitor_answers": at_least(1),
    "monitor_samples": at_least(1),
    "monitor_alpha": between(0, 1, open_=True),
    "campaign_alpha": between(0, 1, open_=True),
    "leaderboard_refresh_s": above(0),  # 0 would refit the board on every read
    "proof_of_work": one_of("auto", "on", "off"),
    "proof_every": at_least(1),
    "proof_work": at_least(1000),  # fewer hashes is no work
    "proof_alert_share": between(0, 1),
}


def _finite(value: Any) -> str | None:
    return None if math.isfinite(value) else "should be a finite number"


def _default_rule(expected: type | tuple[type, ...]) -> Rule | None:
    if expected is int:
        return at_least(0)
    if isinstance(expected, tuple):  # a number (finite: checked first)
        return at_least(0)
    return None


def problem(name: str, value: Any) -> str | None:
    """What is wrong with ``value`` for the ``[arena]`` setting ``name``, as words that
    follow the value ("should be auto, on or off"), or None when it is fine."""
    expected = type_of(ArenaSettings, name)
    if wrong := type_problem(expected, value):
        return wrong
    if isinstance(expected, tuple) and (wrong := _finite(value)):
        return wrong
    rule = RULES.get(name) or _default_rule(expected)
    return rule(value) if rule else None


def type_problem(expected: type | tuple[type, ...], value: Any) -> str | None:
    """The problem ("should be an integer") when ``value`` is not of the ``expected``
    type (true or false is no number)."""
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        return f"should be {type_name(expected)}"
    return None


def from_text(name: str, raw: str) -> Any:
    """An ``ARENA_*`` variable's text as the setting ``name``'s type (see the module
    docstring); text that is not of that type comes back unchanged, for
    :func:`problem` to refuse it in the same words as the file's."""
    expected = type_of(ArenaSettings, name)
    text = raw.strip()
    try:
        if expected is bool:
            return TRUTH.get(text.lower(), raw)
        if expected is int:
            return int(text)
        if isinstance(expected, tuple):
            return float(text)
        if expected in (dict, list):
            return tomllib.loads(f"value = {text}")["value"]
    except (ValueError, tomllib.TOMLDecodeError):
        return raw
    return raw


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def type_of(cls: type, key: str) -> type | tuple[type, ...]:
    """What a TOML value of the setting ``key`` of ``cls`` must be, from its annotation
    (an integer is a number too)."""
    hint = _hints(cls)[key]
    origin = typing.get_origin(hint) or hint
    return (int, float) if origin is float else origin


def type_name(expected: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        dict: "a table",
        bool: "true or false",
        list: "a list",
    }
    if isinstance(expected, tuple):
        return "a number"
    return names.get(expected, expected.__name__)


def _words(choices: typing.Sequence[str]) -> str:
    return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
