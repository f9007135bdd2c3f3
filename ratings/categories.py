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
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from ratings.battles import BattleTable
from ratings.errors import LeaderboardError

__all__ = [
    "LONG_PROMPT_CHARS",
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
        coding = table.column("coding")  # the arena's, from every prompt and answer
        if coding is not None:
            return np.asarray(coding, dtype=bool)
        return np.asarray([looks_like_coding(str(p)) for p in data])
    if kind == "multi_turn":
        return np.asarray(data, dtype=float) > 1
    return np.asarray([value in tags for tags in data])
