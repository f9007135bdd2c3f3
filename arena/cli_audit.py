"""``run_arena.py models audit`` and ``models monitor``: is a configured model the weights
it claims? Both print a report (table or JSON), keep the verdict in the database (the
leaderboard, ``/api/models`` and the admin view show each model's latest), and exit 0
when the model is consistent with its reference, 3 when it differs (2 on an error, in
:func:`arena.cli.main`). See docs/audit.md."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from arena.audit.run import AuditReport
from arena.backends.pool import ModelPool, running
from arena.config import Config
from arena.config.values import QUOTED_CHARS, problem
from arena.errors import ArenaError, ConfigError, excerpt
from arena.store import Store
from arena.store.audits import save_audit

__all__ = ["audit_command", "monitor_command"]


def audit_command(config: Config, args: argparse.Namespace) -> int:
    """``models audit NAME [--reference REF | --reference-samples FILE]``."""
    from arena.audit.run import ReferenceSamples, audit

    name = _name(config, args)
    reference = "" if args.reference_samples else _reference(config, args, name)
    alpha = _alpha(args, 0.01)

    async def run(pool: ModelPool) -> AuditReport:
        against: Any = (
            ReferenceSamples.load(args.reference_samples)
            if args.reference_samples
            else pool.backend(reference)
        )
        return await audit(
            pool.backend(name),
            name,
            against,
            reference,
            queries=args.queries,
            alpha=alpha,
            seed=args.seed,
        )

    report = _with_models(config, [name, reference], run)
    if args.save_reference and report.samples is not None:
        report.samples.save(args.save_reference)
    return _finish(config, args, "audit", report)


def monitor_command(config: Config, args: argparse.Namespace) -> int:
    """``models monitor NAME [--reference REF]``: the scheduled check of the battle
    answers, now."""
    from arena.audit.monitor import Monitor

    name = _name(config, args)
    reference = _reference(config, args, name)
    alpha = _alpha(args, config.settings.monitor_alpha)
    store = _store(config, args)

    async def run(pool: ModelPool) -> AuditReport:
        chosen = replace(config, settings=replace(config.settings, monitor_alpha=alpha))
        return await Monitor(lambda: chosen, store, pool).check(name, reference)

    try:
        report = _with_models(config, [reference], run)
    finally:
        store.close()
    _print(args, report)  # the monitor saved its verdict itself
    return 0 if report.verdict == "consistent" else 3


def _name(config: Config, args: argparse.Namespace) -> str:
    if not args.name:
        raise ArenaError(f"models {args.action} needs NAME, a configured model")
    config.model(args.name)  # an unknown name is an error that lists the known ones
    return str(args.name)


def _alpha(args: argparse.Namespace, default: float) -> float:
    """``--alpha``, judged as the ``monitor_alpha`` setting is: 0 would never call a
    model different, 1 always."""
    if args.alpha is None:
        return default
    wrong = problem("monitor_alpha", args.alpha)
    if wrong:
        raise ConfigError(f"command-line --alpha {excerpt(args.alpha, QUOTED_CHARS)} {wrong}")
    return float(args.alpha)


def _reference(config: Config, args: argparse.Namespace, name: str) -> str:
    reference = args.reference or config.model(name).audit_reference
    if not reference:
        raise ArenaError(
            f"models {args.action} {name} needs --reference REF (a configured model serving "
            "the claimed weights)"
            + (" or --reference-samples FILE" if args.action == "audit" else "")
            + f", or audit_reference set for {name} in arena.toml"
        )
    config.model(reference)
    return str(reference)


def _store(config: Config, args: argparse.Namespace) -> Store:
    return Store(args.db or config.settings.db)


def _with_models(
    config: Config, names: list[str], run: Callable[[ModelPool], Awaitable[AuditReport]]
) -> AuditReport:
    """Start only the models ``names`` and ``run`` with them."""

    async def main() -> AuditReport:
        async with running(config, names) as pool:
            return await run(pool)

    return asyncio.run(main())


def _finish(config: Config, args: argparse.Namespace, kind: str, report: AuditReport) -> int:
    store = _store(config, args)
    try:
        save_audit(store, kind, report.to_dict())
    finally:
        store.close()
    _print(args, report)
    return 0 if report.verdict == "consistent" else 3


def _print(args: argparse.Namespace, report: AuditReport) -> None:
    print(json.dumps(report.to_dict(), indent=2) if args.format == "json" else report.table())
