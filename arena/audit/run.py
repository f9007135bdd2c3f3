"""An audit: is an endpoint the model it claims to be, judged against a reference that
serves the claimed weights (or samples the reference gave earlier)?

It spends its budget of queries to the audited endpoint in order of cost: the cheap
gates first (:mod:`arena.audit.gates`, four queries), then the two-sample test
(:mod:`arena.audit.mmd`) on fresh prompts in three stages of growing size, stopping as
soon as one test is decisive. Every planned test gets α / (number of planned tests)
(Bonferroni), so the chance that an honest endpoint is called different stays under α
however many tests run and wherever the audit stops.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from arena.audit.gates import (
    ECHO_PROMPT,
    PROBE_REPEATS,
    PROBE_UNIT,
    WHO_PROMPT,
    GateResult,
    names_gate,
    token_gate,
)
from arena.audit.mmd import mmd_test
from arena.backends import Backend, Usage
from arena.content import Message
from arena.errors import ArenaError

__all__ = ["PROMPTS", "AuditReport", "ReferenceSamples", "audit", "collect_reference"]

# Fresh, varied prompts whose answers differ between models in wording, not in facts.
PROMPTS = (
    "Write one sentence about the sea.",
    "Give a name for a pet turtle.",
    "Describe the colour blue to someone in five words.",
    "Start a short story in one sentence.",
    "Name a fruit and say why you like it.",
    "Write a haiku about rain.",
    "Suggest a title for a mystery novel.",
    "Say something kind to a tired student.",
    "Describe a city at night in one sentence.",
    "Invent a word and define it.",
    "What would you pack for a picnic?",
    "Write a riddle about time.",
    "Give advice for a first day at work.",
    "Describe the smell of bread.",
    "Write a slogan for a bicycle shop.",
    "Tell me a fact about the moon.",
    "Describe a forest in autumn.",
    "Write the first line of a song.",
    "Name three things that are round.",
    "Say hello as a pirate would.",
)
GATE_QUERIES = len(PROBE_REPEATS) + 2  # token probes, who, echo
CONCURRENT = 4  # requests in flight to one endpoint while sampling
STAGES = 3
GREEDY = {"temperature": 0.0, "max_tokens": 48}
# The two-sample test's kernel: cosine of the completions' character 3-gram sets. On the
# packaged models it had about 7 times the power of Model Equality Testing's Hamming
# kernel against 25% of requests sent to another model (20% against 3% of runs at the
# audit's level, 14 samples per prompt), with the same calibrated null.
NGRAM = 3


@dataclass
class ReferenceSamples:
    """What the reference answered: the gates' probes and sampled completions per
    prompt, with the sampling parameters they were drawn with (an audit must use the
    same). Saved as JSON, so one reference run serves many audits."""

    model: str
    params: dict[str, Any]
    token_counts: list[int | None] = field(default_factory=list)
    who: str = ""
    echo: str = ""
    completions: dict[str, list[str]] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> ReferenceSamples:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise ArenaError(f"cannot read reference samples {path}: {exc}") from None


@dataclass
class AuditReport:
    model: str
    reference: str
    verdict: str  # consistent | different
    queries: int  # requests sent to the audited endpoint
    alpha: float
    tests: list[GateResult]
    # What the reference answered (to save for later audits); not part of the report.
    samples: ReferenceSamples | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The report as ``run_arena.py models audit --format json`` prints it."""
        return {
            "model": self.model,
            "reference": self.reference,
            "verdict": self.verdict,
            "queries": self.queries,
            "alpha": self.alpha,
            "tests": [
                {
                    "name": t.name,
                    "statistic": t.statistic,
                    "p_value": t.p_value,
                    "queries": t.queries,
                    "detail": t.detail,
                }
                for t in self.tests
            ],
        }

    def table(self) -> str:
        """The report as a table: each test, what it spent, and the verdict."""
        width = max([len(t.name) for t in self.tests] + [4])
        lines = [f"{'test'.ljust(width)}  queries  statistic   p-value"]
        for t in self.tests:
            lines.append(
                f"{t.name.ljust(width)}  {t.queries:>7}  {t.statistic:>9.4g}  {t.p_value:>8.4g}"
                + (f"  {t.detail}" if t.detail else "")
            )
        lines.append(
            f"\n{self.model} vs {self.reference}: {self.verdict.upper()} "
            f"({self.queries} queries to {self.model}, alpha {self.alpha:g})"
        )
        return "\n".join(lines) + "\n"


async def ask(backend: Backend, prompt: str, params: Mapping[str, Any]) -> tuple[str, int | None]:
    """One answer and the prompt tokens the endpoint reported for it."""
    text, tokens = "", None
    async for chunk in backend.stream([Message.user(prompt)], params):
        if isinstance(chunk, Usage):
            tokens = chunk.prompt_tokens
        else:
            text += chunk
    return text, tokens


async def _gates(backend: Backend) -> tuple[list[int | None], str, str]:
    counts = [(await ask(backend, PROBE_UNIT * k, {"max_tokens": 1}))[1] for k in PROBE_REPEATS]
    who = (await ask(backend, WHO_PROMPT, GREEDY))[0]
    echo = (await ask(backend, ECHO_PROMPT, GREEDY))[0]
    return counts, who, echo


def _plan(queries: int, prompts: Sequence[str]) -> list[int]:
    """Samples per prompt after each stage of the two-sample test, within the budget."""
    per_prompt = max(0, (queries - GATE_QUERIES) // len(prompts))
    if per_prompt == 0:
        return []  # a budget for the gates only
    return sorted({max(1, round(per_prompt * (s + 1) / STAGES)) for s in range(STAGES)})


async def collect_reference(
    backend: Backend,
    name: str,
    *,
    per_prompt: int,
    params: Mapping[str, Any],
    prompts: Sequence[str] = PROMPTS,
) -> ReferenceSamples:
    """The reference's answers to the gates and ``per_prompt`` samples per prompt."""
    counts, who, echo = await _gates(backend)
    samples = ReferenceSamples(name, dict(params), counts, who, echo)
    await _extend(backend, samples.completions, prompts, per_prompt, params)
    return samples


async def _extend(
    backend: Backend,
    completions: dict[str, list[str]],
    prompts: Sequence[str],
    per_prompt: int,
    params: Mapping[str, Any],
) -> int:
    """Sample until each prompt has ``per_prompt`` completions, ``CONCURRENT`` requests
    at a time; returns the queries sent."""
    wanted = [
        prompt
        for prompt in prompts
        for _ in range(per_prompt - len(completions.setdefault(prompt, [])))
    ]
    slots = asyncio.Semaphore(CONCURRENT)

    async def one(prompt: str) -> tuple[str, str]:
        async with slots:
            return prompt, (await ask(backend, prompt, params))[0]

    for prompt, text in await asyncio.gather(*(one(p) for p in wanted)):
        completions[prompt].append(text)
    return len(wanted)


def _settled(
    reference: Backend | ReferenceSamples,
    reference_name: str,
    params: Mapping[str, Any] | None,
    queries: int,
) -> tuple[dict[str, Any], str]:
    """The audit's sampling parameters and the reference's name, checked: saved
    samples set both, and must have been drawn with the parameters asked for."""
    if isinstance(reference, ReferenceSamples):
        params = reference.params if params is None else params
        if dict(params) != reference.params:
            raise ArenaError(
                f"the reference samples were drawn with {reference.params}, not {dict(params)}: "
                "an audit compares answers drawn with the same sampling parameters"
            )
        reference_name = reference_name or reference.model
    if queries < GATE_QUERIES:
        raise ArenaError(
            f"an audit needs at least {GATE_QUERIES} queries (its gates); got {queries}"
        )
    return dict(params or {"temperature": 1.0, "max_tokens": 24}), reference_name


async def _reference_stage(
    reference: Backend | ReferenceSamples,
    samples: dict[str, list[str]],
    order: Sequence[str],
    per_prompt: int,
    params: Mapping[str, Any],
) -> None:
    """The reference's answers for a stage: sampled from its backend, or found among
    its saved samples (too few of them is an error, not a weaker test)."""
    if not isinstance(reference, ReferenceSamples):
        await _extend(reference, samples, order, per_prompt, params)
        return
    short = [p for p in order if len(samples.get(p, [])) < per_prompt]
    if short:
        raise ArenaError(
            f"the reference samples hold fewer than {per_prompt} answers to "
            f"{len(short)} prompt(s); collect more (--queries) or audit with fewer"
        )


async def audit(
    audited: Backend,
    name: str,
    reference: Backend | ReferenceSamples,
    reference_name: str = "",
    *,
    queries: int = 300,
    alpha: float = 0.01,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    prompts: Sequence[str] = PROMPTS,
    permutations: int = 1000,
) -> AuditReport:
    """Audit ``audited`` against ``reference`` (a backend serving the claimed weights, or
    its saved samples), sending at most ``queries`` requests to ``audited``."""
    params, reference_name = _settled(reference, reference_name, params, queries)
    order = list(prompts)
    random.Random(seed).shuffle(order)
    plan = _plan(queries, order)
    planned = 3 + len(plan)  # the three gates and each stage
    level = alpha / planned
    # Enough permutations that the smallest p-value they can give is under the level.
    permutations = max(permutations, int(2 / level))
    tests: list[GateResult] = []

    ours = await _gates(audited)
    sent = GATE_QUERIES
    if isinstance(reference, ReferenceSamples):
        kept = reference
    else:
        kept = ReferenceSamples(reference_name, dict(params), *await _gates(reference))
    theirs = (kept.token_counts, kept.who, kept.echo)
    samples = kept.completions

    def report(verdict: str, sent: int) -> AuditReport:
        return AuditReport(name, reference_name, verdict, sent, alpha, tests, kept)

    for gate in (
        token_gate(ours[0], theirs[0]),
        names_gate("self-identification", ours[1], theirs[1]),
        names_gate("echo of model names", ours[2], theirs[2]),
    ):
        if gate is not None:
            tests.append(gate)
            if gate.p_value <= level:
                return report("different", sent)

    mine: dict[str, list[str]] = {}
    for per_prompt in plan:
        used = await _extend(audited, mine, order, per_prompt, params)
        sent += used
        await _reference_stage(reference, samples, order, per_prompt, params)
        result = mmd_test(
            [(p, c) for p in order for c in mine[p][:per_prompt]],
            [(p, c) for p in order for c in samples[p][:per_prompt]],
            permutations=permutations,
            seed=seed,
            ngram=NGRAM,
        )
        tests.append(
            GateResult(
                f"two-sample MMD, {per_prompt} per prompt",
                result.statistic,
                result.p_value,
                used,
                f"{len(order)} prompts, character {NGRAM}-gram kernel",
            )
        )
        if result.p_value <= level:
            return report("different", sent)
    return report("consistent", sent)
