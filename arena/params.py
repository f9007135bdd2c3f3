"""Each provider's rules for sampling parameters: which exist, their ranges, and which
exclude each other.

A model's ``params`` in ``arena.toml`` are checked against its kind's rules when the
model is loaded (a mistake is a :class:`~arena.errors.ConfigError` naming it), and every
request is shaped by :meth:`ParamRules.request` so that it never carries a combination
the provider refuses (Claude 4.5 models answer HTTP 400 to ``temperature`` with
``top_p``). What a voter picks in Side-by-side is narrower (:meth:`ParamRules.chosen`):
only the page's three parameters, never an extra an organizer could set (``n``,
``best_of``, ``min_tokens`` reached the backend), and ``max_tokens`` no more than the
model's own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arena.errors import excerpt

__all__ = ["ANTHROPIC", "CHOSEN", "CHOSEN_MAX_TOKENS", "GEMINI", "OPENAI", "Param", "ParamRules"]

# What a voter may choose for a side-by-side battle (the page's sliders); an
# organizer's arena.toml may set any parameter its kind takes.
CHOSEN = ("temperature", "top_p", "max_tokens")
# The most max_tokens a voter may ask of a model whose params set none (the top of
# the page's slider); a model's own max_tokens is the most for it.
CHOSEN_MAX_TOKENS = 2048


@dataclass(frozen=True)
class Param:
    """One parameter's type and range (``None``: unbounded on that side)."""

    low: float | None = None
    high: float | None = None
    integer: bool = False
    sequence: bool = False  # a string or a list of strings (stop sequences)

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is refused, or None."""
        if self.sequence:
            if isinstance(value, str) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                return None
            return "takes a string or a list of strings"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "takes a number"
        if not math.isfinite(value):  # NaN passes every comparison below
            return "takes a finite number"
        if self.integer and not float(value).is_integer():
            return "takes a whole number"
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            return f"takes {self._range()}"
        return None

    def _range(self) -> str:
        if self.high is None:
            return f"{self.low:g} or more"
        return f"{self.low:g} to {self.high:g}"


@dataclass(frozen=True)
class ParamRules:
    """A provider's sampling parameters.

    Attributes:
        known: the parameters it takes, by the arena's names.
        closed: whether other parameters are refused (an SDK's fixed request) or passed
            on as they are (OpenAI-compatible servers take extras, e.g. vLLM's min_p).
        exclusive: groups of which a request may carry one; when several are given, the
            first of the group is sent and the rest dropped.
    """

    provider: str
    known: Mapping[str, Param]
    closed: bool = False
    exclusive: tuple[tuple[str, ...], ...] = field(default=())

    def problems(self, params: Mapping[str, Any], *, exclusive: bool = True) -> list[str]:
        """What is wrong with ``params`` (empty: nothing), one sentence each; with
        ``exclusive`` False, several of an exclusive group pass (see :meth:`request`)."""
        out = []
        for group in self.exclusive if exclusive else ():
            given = [name for name in group if name in params]
            if len(given) > 1:
                out.append(
                    f"{self.provider} takes one of {' and '.join(given)}, not both (newer "
                    "models refuse the pair): keep one"
                )
        for name, value in params.items():
            rule = self.known.get(name)
            if rule is None:
                if self.closed:
                    takes = ", ".join(self.known)
                    out.append(f"{self.provider} has no parameter {name!r} (it takes {takes})")
                continue
            problem = rule.problem(value)
            if problem:
                out.append(f"{name} {problem} on {self.provider} (got {excerpt(value)})")
        return out

    def chosen(
        self, params: Mapping[str, Any], max_tokens: int
    ) -> tuple[dict[str, Any], list[str]]:
        """A voter's choice (Side-by-side) as it may be sent, and what is wrong with it
        (one sentence each): only :data:`CHOSEN` parameters this provider takes, each a
        finite number in its range; ``max_tokens`` cut to ``max_tokens`` (the model's
        own, or :data:`CHOSEN_MAX_TOKENS`), which a voter may lower, never raise."""
        takes = [name for name in CHOSEN if name in self.known]
        out: dict[str, Any] = {}
        problems = []
        others = [name for name in params if name not in takes]
        if others:
            named = ", ".join(excerpt(name) for name in others[:4])
            more = f" and {len(others) - 4:,} more" if len(others) > 4 else ""
            problems.append(
                f"{named}{more} cannot be chosen (Side-by-side takes {', '.join(takes)})"
            )
        for name, value in params.items():
            problem = self.known[name].problem(value) if name in takes else None
            if problem:
                problems.append(f"{name} {problem} on {self.provider} (got {excerpt(value)})")
            elif name in takes:
                out[name] = value
        if "max_tokens" in out:
            out["max_tokens"] = min(int(out["max_tokens"]), max_tokens)
        return out, problems

    def request(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` as they may be sent: of each exclusive group only the first given,
        whole numbers as integers (a slider or a JSON number may send ``2048.0``, which
        some servers refuse for ``max_tokens``)."""
        out = {
            name: int(value)
            if isinstance(value, float) and (rule := self.known.get(name)) and rule.integer
            else value
            for name, value in params.items()
        }
        for group in self.exclusive:
            given = [name for name in group if name in out]
            for name in given[1:]:
                del out[name]
        return out


_COMMON = {
    "max_tokens": Param(1, None, integer=True),
    "stop": Param(sequence=True),
}

# Each provider's rules; arena/kinds.py gives each model kind its own.

# platform.openai.com/docs/api-reference/chat/create; OpenAI-compatible servers
# (vLLM, llama.cpp) follow it and take further parameters of their own.
OPENAI = ParamRules(
    "OpenAI-compatible servers",
    {
        "temperature": Param(0, 2),
        "top_p": Param(0, 1),
        "presence_penalty": Param(-2, 2),
        "frequency_penalty": Param(-2, 2),
        "seed": Param(integer=True),
        **_COMMON,
    },
)
# docs.anthropic.com/en/api/messages: temperature 0-1; Claude Sonnet/Haiku 4.5,
# Opus 4.1 and later refuse temperature together with top_p ("cannot both be
# specified for this model"), so only one is ever sent: temperature first.
ANTHROPIC = ParamRules(
    "Anthropic",
    {
        "temperature": Param(0, 1),
        "top_p": Param(0, 1),
        "top_k": Param(0, None, integer=True),
        **_COMMON,
    },
    closed=True,
    exclusive=(("temperature", "top_p"),),
)
# ai.google.dev/api/generate-content#generationconfig
GEMINI = ParamRules(
    "Gemini",
    {
        "temperature": Param(0, 2),
        "top_p": Param(0, 1),
        "top_k": Param(1, None, integer=True),
        **_COMMON,
    },
    closed=True,
)
