"""Identity leaks: answers that tell the voter which model wrote them.

An anonymous vote is only blind while neither answer names its model or maker. When
one does, the vote is kept but flagged (``valid`` false, with the reason) and left out
of the default leaderboard.

Two rules, applied to each side's answers:

1. **Self-identification**: a first-person statement that names a model or a maker
   ("I am Claude", "I'm a large language model trained by Google", "As ChatGPT, ...").
   The names are those of every configured model (name, model id, organization,
   ``aliases``) and a built-in list of well-known ones. This holds even when the
   prompt asked "are you GPT-4?": the answer still tells.
2. **Unprompted self-mention**: the side names its *own* model or maker anywhere while
   no prompt of the battle mentions that model or maker (asked about Qwen, an answer
   may well name Alibaba).

A prompt that merely mentions a model name flags nothing by itself (FastChat's filter
drops every battle whose prompt names a model, throwing honest votes away): an answer
that discusses "GPT-4 vs Llama" because it was asked to is not a leak.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from arena.config import ModelSpec
from arena.words import Side

__all__ = ["KNOWN_IDENTITIES", "Leak", "find_leaks", "identity_terms"]

# Makers and the names their models go by (the generic part of rule 1).
KNOWN_IDENTITIES: Mapping[str, tuple[str, ...]] = {
    "OpenAI": ("ChatGPT", "GPT-4o", "GPT-4", "GPT-3.5", "GPT-5", "GPT"),
    "Anthropic": ("Claude",),
    "Google": ("Gemini", "Gemma", "Bard", "PaLM", "DeepMind", "Google DeepMind"),
    "Meta": ("Llama", "LLaMA", "Meta AI"),
    "Mistral AI": ("Mistral", "Mixtral", "Codestral"),
    "Alibaba": ("Qwen", "Tongyi Qianwen", "Alibaba Cloud"),
    "DeepSeek": ("DeepSeek",),
    "Microsoft": ("Phi", "Copilot"),
    "xAI": ("Grok",),
    "Cohere": ("Command R", "Aya"),
    "01.AI": ("Yi",),
    "Baidu": ("ERNIE",),
    "Zhipu AI": ("ChatGLM", "GLM"),
    "Moonshot AI": ("Kimi",),
    "Hugging Face": ("SmolLM", "Zephyr"),
    "TII": ("Falcon",),
    "LMSYS": ("Vicuna",),
    "NVIDIA": ("Nemotron",),
    "Allen Institute for AI": ("OLMo", "Tulu"),
}

_FILLER = (
    r"(?:(?:an?|the|large|small|open|language|model|AI|artificial|intelligence|assistant|"
    r"chatbot|called|named|known|as|version|of|based|on|trained|developed|created|built|"
    r"made|designed|by|from|team|at|researchers|engineers|company)[\s,]+){0,8}"
)
_VERBS = r"(?:created|developed|trained|built|made|designed|programmed|owned|fine-tuned|released)"


@dataclass(frozen=True)
class Leak:
    """One answer that reveals a model or maker."""

    side: str  # a | b
    term: str
    excerpt: str

    def reason(self) -> str:
        return f"identity leak: answer {self.side.upper()} names {self.term!r}: “{self.excerpt}”"


def identity_terms(spec: ModelSpec) -> set[str]:
    """The names one model or its maker may go by: its name, model id and its family
    (the part before the first dash or digit), organization and ``aliases``."""
    terms = {spec.name, spec.organization, *(spec.aliases or ())}
    for name in (spec.name, spec.model.rsplit("/", 1)[-1] if spec.model else ""):
        terms.add(name)
        family = re.split(r"[-_\s\d]", name, maxsplit=1)[0]
        if len(family) >= 3:
            terms.add(family)
    for maker, names in KNOWN_IDENTITIES.items():
        if spec.organization and maker.lower() in spec.organization.lower():
            terms.update((maker, *names))
    return {t for t in terms if len(t) >= 2}


def _pattern(terms: Iterable[str]) -> str:
    ordered = sorted(set(terms), key=len, reverse=True)  # the longest name wins
    return r"(?<![\w-])(?:" + "|".join(re.escape(t) for t in ordered) + r")(?![\w])"


@functools.lru_cache(maxsize=8)  # one per configuration: compiled once, not per vote
def _self_identification(terms: frozenset[str]) -> re.Pattern[str]:
    names = _pattern(terms)
    me = r"(?:I am|I'm|I’m|my name is|you can call me|call me)"
    return re.compile(
        rf"\b{me}\s+{_FILLER}(?P<t1>{names})"
        rf"|\b(?:I|I'm|I’m|me|my)\b[^.!?\n]{{0,80}}?\b{_VERBS}\s+by\s+{_FILLER}(?P<t2>{names})"
        rf"|(?:^|[.!?\n]\s*)As\s+(?:an?\s+)?(?P<t3>{names}),",
    )


def find_leaks(
    answers: Mapping[Side, Sequence[str]],
    prompts: Sequence[str],
    own: Mapping[Side, ModelSpec | None],
    every: Iterable[ModelSpec],
) -> list[Leak]:
    """The leaks in a battle's ``answers`` (per side, every turn).

    ``own`` gives each side's model (None if it left the config: only the generic
    rule applies); ``every`` is all configured models, whose names rule 1 looks for.
    """
    all_terms = {n for names in KNOWN_IDENTITIES.values() for n in names}
    all_terms.update(KNOWN_IDENTITIES)
    for spec in every:
        all_terms |= identity_terms(spec)
    self_id = _self_identification(frozenset(all_terms))
    asked = "\n".join(prompts)
    leaks: list[Leak] = []
    for side, texts in answers.items():
        text = "\n".join(texts)
        found = self_id.search(text)
        if found:
            term = found.group("t1") or found.group("t2") or found.group("t3")
            leaks.append(Leak(side, term, _excerpt(text, found.start(), found.end())))
            continue
        mine = own.get(side)
        if mine is None:
            continue
        own_terms = _pattern(identity_terms(mine))
        if re.search(own_terms, asked):
            continue  # asked about this model or maker: naming it is answering
        if found := re.search(own_terms, text):
            leaks.append(Leak(side, found.group(0), _excerpt(text, found.start(), found.end())))
    return leaks


def _excerpt(text: str, start: int, end: int, around: int = 40) -> str:
    left = max(text.rfind("\n", 0, start) + 1, start - around)
    right = text.find("\n", end)
    right = min(right if right != -1 else len(text), end + around)
    return ("…" if left > 0 else "") + text[left:right].strip() + ("…" if right < len(text) else "")
