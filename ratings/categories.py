"""Categories: the subsets of battles that get a board of their own.

- ``language:<code>``: battles whose ``language`` column holds that value;
- ``long_prompt``: the first prompt has at least ``LONG_PROMPT_CHARS`` characters
  (about 500 tokens, LMArena's threshold for a long query);
- ``multi_turn``: the battle went on for more than one turn;
- ``coding``: a prompt holds code (a fenced block or code-like lines) or names a
  programming language or coding task, or the answers hold fenced code (the arena's
  own battles: every turn's prompts and answers, in a ``coding`` column; a battle file:
  its first prompt);
- ``tag:<name>``: any tag stored on the battle (the arena tags a battle whose first
  prompt matches an organizer's expression: :func:`prompt_tags`).

A category needs the column it is built on; a table without it has no such category.
Each kind is one :class:`Category` in :data:`CATEGORIES` (its column, its label, which
battles it holds): a new category goes there, and the board, its selector and the
command line read it from there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ratings.battles import BattleTable
from ratings.errors import LeaderboardError

__all__ = [
    "CATEGORIES",
    "LANGUAGE_NAMES",
    "LONG_PROMPT_CHARS",
    "Category",
    "category_forms",
    "category_label",
    "category_mask",
    "is_coding",
    "list_categories",
    "looks_like_coding",
    "prompt_tags",
]

LONG_PROMPT_CHARS = 2000
_LANGUAGES = re.compile(
    r"\b(python|javascript|typescript|java|kotlin|swift|rust|golang|c\+\+|c#|php|ruby|"
    r"scala|haskell|sql|regex|bash|powershell|html|css|react|django|numpy|pandas|"
    r"dockerfile|kubernetes|yaml|json)\b",
    re.IGNORECASE,
)
_CODE_TASK = re.compile(
    r"\b(code|coding|function|script|program(ming)?|debug(ging)?|compile[rs]?|algorithm|"
    r"implement|refactor|stack ?trace|traceback|syntax error|unit tests?|api endpoint)\b",
    re.IGNORECASE,
)
_CODE_LINE = re.compile(
    r"^\s*(def |class \w+[:(]|import |from \w+ import|#include|for\s*\(|if\s*\(|"
    r"return |\w+\s*=\s*[\w\[{(\"']|[{};]\s*$|</?\w+>)",
    re.MULTILINE,
)
_FENCE = re.compile(r"```")


def prompt_tags(prompt: str, tags: Mapping[str, str]) -> list[str]:
    """The names in ``tags`` (name -> regular expression, ``tags`` in arena.toml) whose
    expression ``prompt`` matches, ignoring case; sorted."""
    return sorted(name for name, pattern in tags.items() if re.search(pattern, prompt, re.I))


def looks_like_coding(prompt: str) -> bool:
    """Whether a prompt holds code (a fenced block, two code-like lines) or asks for it
    (a programming language or a coding task named)."""
    if _FENCE.search(prompt) or len(_CODE_LINE.findall(prompt)) >= 2:
        return True
    return bool(_LANGUAGES.search(prompt) or _CODE_TASK.search(prompt))


def is_coding(prompts: Sequence[str], answers: Sequence[str] = ()) -> bool:
    """Whether a battle is about code: any of its prompts looks like coding, or its
    answers hold fenced code blocks (at least half of them, so one model's habit of
    fencing everything does not make a poem a coding battle)."""
    if any(looks_like_coding(p) for p in prompts):
        return True
    fenced = sum(bool(_FENCE.search(a)) for a in answers)
    return bool(answers) and fenced * 2 >= len(answers)


# How the board names a language category (the ISO 639-1 codes Lingua detects most).
LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Chinese",
    "ru": "Russian",
    "es": "Spanish",
    "de": "German",
    "fr": "French",
    "ja": "Japanese",
    "ko": "Korean",
    "pt": "Portuguese",
    "it": "Italian",
    "pl": "Polish",
    "vi": "Vietnamese",
    "ar": "Arabic",
    "tr": "Turkish",
    "id": "Indonesian",
    "fa": "Persian",
    "uk": "Ukrainian",
    "nl": "Dutch",
    "hi": "Hindi",
    "cs": "Czech",
    "sv": "Swedish",
    "el": "Greek",
    "he": "Hebrew",
    "th": "Thai",
    "bn": "Bengali",
    "ro": "Romanian",
    "hu": "Hungarian",
    "da": "Danish",
    "fi": "Finnish",
    "nb": "Norwegian",
}


@dataclass(frozen=True)
class Category:
    """A kind of category, registered once in :data:`CATEGORIES`: the battle column it
    is built on, how the board names it, and which battles it holds. A kind with
    ``values`` has a category per value (``language:fr``, ``tag:law``)."""

    key: str
    column: str
    label: str
    member: Callable[[BattleTable, np.ndarray, str], np.ndarray]  # (table, column, value)
    values: Callable[[np.ndarray], list[str]] | None = None  # a column's values, sorted
    value_names: Mapping[str, str] = field(default_factory=dict)
    hint: str = ""  # what its value is, for an error message: language:<code>

    def names(self, table: BattleTable) -> list[str]:
        """This kind's categories in ``table`` (none when it lacks the column)."""
        data = table.column(self.column)
        if data is None:
            return []
        if self.values is None:
            return [self.key]
        return [f"{self.key}:{v}" for v in self.values(data)]


def _coding(table: BattleTable, prompts: np.ndarray, _value: str) -> np.ndarray:
    coding = table.column("coding")  # the arena's, from every prompt and answer
    if coding is not None:
        return np.asarray(coding, dtype=bool)
    return np.asarray([looks_like_coding(str(p)) for p in prompts])


CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category(
            "language",
            "language",
            "Language",
            lambda _t, data, value: np.asarray([str(v) == value for v in data]),
            values=lambda data: sorted({str(v) for v in data if str(v)}),
            value_names=LANGUAGE_NAMES,
            hint="code",
        ),
        Category(
            "long_prompt",
            "prompt",
            "Long prompts",
            lambda _t, data, _v: np.asarray([len(str(p)) >= LONG_PROMPT_CHARS for p in data]),
        ),
        Category("coding", "prompt", "Coding", _coding),
        Category(
            "multi_turn", "turn", "Multi-turn", lambda _t, data, _v: np.asarray(data, float) > 1
        ),
        Category(
            "tag",
            "tags",
            "Tag",
            lambda _t, data, value: np.asarray([value in tags for tags in data]),
            values=lambda data: sorted({str(t) for tags in data for t in tags}),
            hint="name",
        ),
    )
}


def category_forms() -> str:
    """The categories one can ask for, as an error or a help line shows them."""
    return ", ".join(f"{c.key}:<{c.hint}>" if c.values else c.key for c in CATEGORIES.values())


def category_label(name: str) -> str:
    """How the board's selector names a category: ``Language: French``, ``Coding``."""
    kind, _, value = name.partition(":")
    category = CATEGORIES.get(kind)
    if category is None:
        return name
    return (
        f"{category.label}: {category.value_names.get(value, value)}" if value else category.label
    )


def list_categories(table: BattleTable, min_battles: int = 1) -> list[str]:
    """Every category this table has battles in (at least ``min_battles``)."""
    names = [name for category in CATEGORIES.values() for name in category.names(table)]
    return [n for n in names if int(category_mask(table, n).sum()) >= min_battles]


def category_mask(table: BattleTable, name: str) -> np.ndarray:
    """Shape (n_battles,): the battles in category ``name``.

    Raises:
        LeaderboardError: an unknown category, or one whose column the table lacks.
    """
    kind, _, value = name.partition(":")
    category = CATEGORIES.get(kind)
    if category is None or bool(value) != bool(category.values):
        raise LeaderboardError(f"unknown category {name!r}; expected {category_forms()}")
    data = table.column(category.column)
    if data is None:
        raise LeaderboardError(
            f"category {name!r} needs a {category.column!r} column, which these battles lack"
        )
    return category.member(table, data, value)
