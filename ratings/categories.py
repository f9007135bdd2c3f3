"""Categories: the subsets of battles that get a board of their own.

- ``language:<code>``: battles whose ``language`` column holds that value;
- ``long_prompt``: the first prompt has at least ``LONG_PROMPT_CHARS`` characters
  (about 500 tokens, LMArena's threshold for a long query);
- ``multi_turn``: the battle went on for more than one turn;
- ``coding``: the first prompt holds code (a fenced block or code-like lines) or asks
  for code;
- ``tag:<name>``: any tag stored on the battle.

A category needs the column it is built on; a table without it has no such category.
"""

from __future__ import annotations

import re

import numpy as np

from ratings.battles import BattleTable
from ratings.errors import LeaderboardError

__all__ = ["LONG_PROMPT_CHARS", "category_mask", "list_categories", "looks_like_coding"]

LONG_PROMPT_CHARS = 2000
_ASKS_FOR_CODE = re.compile(
    r"\b(code|coding|function|script|program|python|javascript|typescript|java|rust|golang|"
    r"c\+\+|c#|sql|regex|bash|html|css|debug|compile|algorithm|class|api|implement)\b",
    re.IGNORECASE,
)
_CODE_LINE = re.compile(
    r"^\s*(def |class |import |#include|for\s*\(|if\s*\(|return |\w+\s*=\s*"
    r"[\w\[{(\"'])|[{};]\s*$",
    re.MULTILINE,
)


def looks_like_coding(prompt: str) -> bool:
    """Whether a prompt holds code or asks for it."""
    if "```" in prompt or _ASKS_FOR_CODE.search(prompt):
        return True
    return len(_CODE_LINE.findall(prompt)) >= 2


def list_categories(table: BattleTable, min_battles: int = 1) -> list[str]:
    """Every category this table has battles in (at least ``min_battles``)."""
    names = []
    language, tags = table.column("language"), table.column("tags")
    if language is not None:
        values, counts = np.unique(language.astype(str), return_counts=True)
        names += [f"language:{v}" for v, c in zip(values, counts, strict=True) if v and c]
    if table.column("prompt") is not None:
        names += ["long_prompt", "coding"]
    if table.column("turn") is not None:
        names.append("multi_turn")
    if tags is not None:
        names += sorted({f"tag:{t}" for battle_tags in tags for t in battle_tags})
    return [n for n in names if int(category_mask(table, n).sum()) >= min_battles]


def category_mask(table: BattleTable, name: str) -> np.ndarray:
    """Shape (n_battles,): the battles in category ``name``.

    Raises:
        LeaderboardError: an unknown category, or one whose column the table lacks.
    """
    kind, _, value = name.partition(":")
    column = {
        "language": "language",
        "long_prompt": "prompt",
        "coding": "prompt",
        "multi_turn": "turn",
        "tag": "tags",
    }.get(kind)
    if column is None:
        raise LeaderboardError(
            f"unknown category {name!r}; expected language:<code>, long_prompt, multi_turn, "
            "coding or tag:<name>"
        )
    data = table.column(column)
    if data is None:
        raise LeaderboardError(
            f"category {name!r} needs a {column!r} column, which these battles lack"
        )
    if kind == "language":
        return np.asarray([str(v) == value for v in data])
    if kind == "long_prompt":
        return np.asarray([len(str(p)) >= LONG_PROMPT_CHARS for p in data])
    if kind == "coding":
        return np.asarray([looks_like_coding(str(p)) for p in data])
    if kind == "multi_turn":
        return np.asarray(data, dtype=float) > 1
    return np.asarray([value in tags for tags in data])
