"""Style features of an answer, for style control: length and markdown counts.

Fenced code blocks are removed before counting, so a long code listing neither
counts as verbose prose nor hides its ``#`` comments as markdown headers.
"""

from __future__ import annotations

import re

__all__ = ["answer_style"]

_FENCE = re.compile(r"```.*?(```|\Z)", re.DOTALL)
_HEADER = re.compile(r"^\s{0,3}#{1,6}\s+\S", re.MULTILINE)
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


def answer_style(text: str) -> dict[str, float]:
    """``{"len", "headers", "lists", "bold"}`` of one answer (or a side's answers joined)."""
    prose = _FENCE.sub("", text)
    return {
        "len": float(len(prose)),
        "headers": float(len(_HEADER.findall(prose))),
        "lists": float(len(_LIST.findall(prose))),
        "bold": float(len(_BOLD.findall(prose))),
    }
