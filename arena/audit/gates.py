"""The cheap gates of an endpoint audit: a handful of queries that can already show an
endpoint is not the model it claims, before any sampling test.

- **Token counts.** The ``usage.prompt_tokens`` an endpoint reports for a probe repeated
  1 and 8 times are fixed by its tokenizer and chat template: the same weights give the
  same counts, to the token.
- **Self-identification** at temperature 0: which model and maker names the answer to
  "who made you?" mentions.
- **Echo**: asked to repeat a list of model and maker names, an endpoint that filters
  names out of its answers (the Reflection scandal deleted its real vendor's name)
  leaves out names the reference repeats.

Each gate compares only what the same weights reproduce exactly (counts, sets of names),
never whole texts, so numerical noise in greedy decoding between two honest servers
does not make it fire. A gate that fires is decisive (p-value 0); one that cannot run
(no usage reported) is left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ECHO_PROMPT",
    "PROBE_REPEATS",
    "PROBE_UNIT",
    "VENDORS",
    "WHO_PROMPT",
    "GateResult",
    "names_gate",
    "names_in",
    "token_gate",
]

VENDORS = (
    "Qwen",
    "Alibaba",
    "Llama",
    "Meta",
    "Mistral",
    "Claude",
    "Anthropic",
    "GPT",
    "OpenAI",
    "Gemini",
    "Google",
    "DeepSeek",
    "SmolLM",
    "Hugging Face",
    "Phi",
    "Microsoft",
)
ECHO_PROMPT = (
    "Repeat the following names exactly, separated by commas, and write nothing else: "
    + ", ".join(VENDORS)
)
WHO_PROMPT = "Who made you, and what is your name? Answer in one sentence."
PROBE_UNIT = " naïve café 数据 🦙 tokenization"
PROBE_REPEATS = (1, 8)
_NAMES = {name: re.compile(rf"(?<![A-Za-z]){re.escape(name)}", re.IGNORECASE) for name in VENDORS}


@dataclass(frozen=True)
class GateResult:
    """One test of an audit: its statistic, its p-value, and the queries it sent to the
    audited endpoint."""

    name: str
    statistic: float
    p_value: float
    queries: int
    detail: str = ""


def names_in(text: str) -> frozenset[str]:
    """The model and maker names of :data:`VENDORS` that ``text`` mentions."""
    return frozenset(name for name, pattern in _NAMES.items() if pattern.search(text))


def names_gate(name: str, audited: str, reference: str, queries: int = 1) -> GateResult:
    """Whether two answers to the same temperature-0 prompt mention the same names."""
    ours, theirs = names_in(audited), names_in(reference)
    differ = ours ^ theirs
    detail = (
        f"names only from the endpoint: {sorted(ours - theirs) or 'none'}; only from the "
        f"reference: {sorted(theirs - ours) or 'none'}"
    )
    return GateResult(name, float(len(differ)), 0.0 if differ else 1.0, queries, detail)


def token_gate(audited: Sequence[int | None], reference: Sequence[int | None]) -> GateResult | None:
    """Whether the prompt-token counts of the probes match exactly; None when either
    side did not report them."""
    if any(c is None for c in (*audited, *reference)) or len(audited) != len(reference):
        return None
    gap = sum(
        abs(int(a) - int(r))  # an endpoint may report a count as a string
        for a, r in zip(audited, reference, strict=True)
        if a is not None and r is not None  # none is (checked above): for the type checker
    )
    detail = f"prompt tokens: endpoint {list(audited)}, reference {list(reference)}"
    return GateResult("token counts", float(gap), 0.0 if gap else 1.0, len(audited), detail)
