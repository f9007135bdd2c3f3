"""Monitoring from battles: are a model's battle answers still those of the weights it
claims, at no extra query to it?

The design of RUT (Zhu et al., arXiv 2506.06975): the audited endpoint answers each
prompt once (its ordinary traffic: the battles), the reference answers the same
prompt with the same sampling parameters several times. Under "same model" the
audited answer is exchangeable with the reference's answers to its prompt, so the
within-prompt permutation test of :mod:`arena.audit.mmd` is exact with one audited
answer per prompt. Answers are compared by the character 3-grams of their first 100
characters (Model Equality Testing's Hamming kernel, position by position, had a tenth
of the power with one answer per prompt: Qwen's answers taken for SmolLM2's were found in
3% of trials against 27% at 16 prompts, α = 0.01), so the reference is asked for at
most :data:`REFERENCE_TOKENS` tokens.

:class:`Monitor` runs the check for every model that names an ``audit_reference``,
every ``monitor_every_h`` hours, once per interval across every arena process on the
database, and keeps each verdict in the ``audits`` table (the board, ``/api/models``
and the admin view show the latest).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from arena.audit.gates import GateResult
from arena.audit.mmd import mmd_test
from arena.audit.run import AuditReport, ask
from arena.backends import Backend
from arena.backends.pool import ModelPool
from arena.config import Config
from arena.errors import ArenaError
from arena.store import Store
from arena.store.audits import BattleAnswer, battle_answers, claim, save_audit

__all__ = ["MIN_ANSWERS", "Monitor", "check_answers"]

log = logging.getLogger(__name__)

MIN_ANSWERS = 10  # fewer battle answers than this say too little to test
REFERENCE_TOKENS = 96  # enough for the characters compared, in any script
PREFIX = 100  # characters of each answer compared
NGRAM = 3
CONCURRENT = 2  # requests in flight to the reference (voters may be using it too)


async def check_answers(
    answers: Sequence[BattleAnswer],
    reference: Backend,
    name: str,
    reference_name: str,
    *,
    samples: int = 8,
    alpha: float = 0.001,
    seed: int = 0,
) -> AuditReport:
    """Test ``answers`` (what ``name`` answered in battles) against ``samples`` answers
    of ``reference`` to each of their prompts, sampled with the same parameters."""
    if len(answers) < MIN_ANSWERS:
        raise ArenaError(
            f"{name} has {len(answers)} battle answer(s) to check; at least {MIN_ANSWERS} "
            "are needed"
        )
    if samples < 1:
        raise ArenaError(f"the reference must answer each prompt at least once, not {samples}")
    groups: dict[str, tuple[str, dict[str, Any]]] = {}
    for answer in answers:
        key = json.dumps([answer.prompt, answer.params], sort_keys=True)
        groups.setdefault(key, (answer.prompt, answer.params))
    slots = asyncio.Semaphore(CONCURRENT)

    async def one(key: str) -> tuple[str, str]:
        prompt, params = groups[key]
        shorter = dict(params)
        shorter["max_tokens"] = min(
            int(params.get("max_tokens") or REFERENCE_TOKENS), REFERENCE_TOKENS
        )
        async with slots:
            return key, (await ask(reference, prompt, shorter))[0][:PREFIX]

    theirs = await asyncio.gather(*(one(key) for key in groups for _ in range(samples)))
    ours = [(json.dumps([a.prompt, a.params], sort_keys=True), a.answer[:PREFIX]) for a in answers]
    result = mmd_test(
        ours, list(theirs), permutations=max(1000, int(2 / alpha)), seed=seed, ngram=NGRAM
    )
    verdict = "different" if result.p_value <= alpha else "consistent"
    test = GateResult(
        "battle answers vs reference",
        result.statistic,
        result.p_value,
        0,
        f"{len(answers)} battle answers, {len(theirs)} reference answers to "
        f"{len(groups)} prompts, {NGRAM}-grams of the first {PREFIX} characters",
    )
    return AuditReport(name, reference_name, verdict, 0, alpha, [test])


class Monitor:
    """The scheduled checks of a running arena (see the module docstring)."""

    def __init__(self, config: Callable[[], Config], store: Store, pool: ModelPool) -> None:
        self._config = config
        self.store = store
        self.pool = pool

    def watched(self) -> list[tuple[str, str]]:
        """(model, reference) of every configured model that names a reference."""
        return [(m.name, m.audit_reference) for m in self._config().models if m.audit_reference]

    async def check(self, name: str, reference: str | None = None) -> AuditReport:
        """Check ``name``'s latest battle answers now; the verdict is saved."""
        settings = self._config().settings
        reference = reference or self._config().model(name).audit_reference
        if not reference:
            raise ArenaError(f"{name} names no audit_reference in arena.toml; pass --reference")
        backend = self.pool.backend(reference)
        answers = await asyncio.to_thread(
            battle_answers, self.store, name, settings.monitor_answers
        )
        report = await check_answers(
            answers,
            backend,
            name,
            reference,
            samples=settings.monitor_samples,
            alpha=settings.monitor_alpha,
        )
        await asyncio.to_thread(save_audit, self.store, "monitor", report.to_dict())
        if report.verdict == "different":
            log.warning(
                "%s: its battle answers differ from %s's (p = %.2g): run "
                "run_arena.py models audit %s --reference %s",
                name,
                reference,
                report.tests[0].p_value,
                name,
                reference,
            )
        return report

    async def run_forever(self) -> None:
        """Every few minutes, check each watched model whose check is due."""
        while True:
            every_h = self._config().settings.monitor_every_h
            await asyncio.sleep(min(600.0, every_h * 3600) if every_h > 0 else 600.0)
            if every_h > 0:
                await self.run_due(timedelta(hours=every_h))

    async def run_due(self, every: timedelta) -> list[AuditReport]:
        """Check the watched models with enough answers whose last check is older than
        ``every`` (claimed in the database, so one process of several runs each)."""
        done = []
        for name, reference in self.watched():
            if not self.pool.in_draw(reference):
                continue
            wanted = self._config().settings.monitor_answers
            found = await asyncio.to_thread(battle_answers, self.store, name, wanted)
            if len(found) < max(MIN_ANSWERS, wanted):
                continue
            if not await asyncio.to_thread(claim, self.store, f"monitor:{name}", every):
                continue
            try:
                done.append(await self.check(name, reference))
            except ArenaError as exc:
                log.error("monitor of %s: %s", name, exc)
        return done
