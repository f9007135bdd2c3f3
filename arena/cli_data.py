"""``run_arena.py export --public DIR`` (the public release, arena/release/) and
``run_arena.py battles languages`` (detect the language of older battles)."""

from __future__ import annotations

import argparse
import sys

from arena.config import Config, load_config
from arena.errors import ArenaError

__all__ = ["battles_command", "export_command"]


def export_command(args: argparse.Namespace) -> int:
    from arena.release.public import write_release
    from arena.store import Store

    if not args.public:
        raise ArenaError(
            "export writes the public release: export --public DIR (the organizer's whole "
            "record, with voter hashes, is GET /api/admin/battles)"
        )
    if args.delay_days < 0:
        raise ArenaError(f"--delay-days must be 0 or more, not {args.delay_days:g}")
    config = load_config(args.config, overrides={"db": args.db})
    store = Store(config.settings.db)
    try:
        release = write_release(
            store,
            args.public,
            delay_days=args.delay_days,
            licence=config.settings.release_licence,
            campaign_alpha=config.settings.campaign_alpha
            if config.settings.exclude_campaigns
            else None,
        )
    finally:
        store.close()
    scrubbed = ", ".join(f"{n} {k}" for k, n in release.scrubbed.items() if n) or "nothing"
    print(
        f"{release.battles:,} battles released to {args.public} "
        f"({', '.join(release.files)}); personal data replaced: {scrubbed}; "
        f"left out: {', '.join(f'{n} {k}' for k, n in release.left_out.items())}"
    )
    return 0


def battles_command(args: argparse.Namespace) -> int:
    from arena import language
    from arena.store import Store

    config = load_config(args.config, overrides={"db": args.db})
    if args.action == "hard-prompts":
        return _hard_prompts(config, args)
    store = Store(config.settings.db)
    try:
        done = language.backfill(
            store,
            everything=args.all,
            say=lambda line: print(line, file=sys.stderr, flush=True),
        )
    finally:
        store.close()
    print(f"languages detected for {done['battles']:,} battles ({done['found']:,} clear)")
    return 0


def _hard_prompts(config: Config, args: argparse.Namespace) -> int:
    import asyncio

    from arena.backends.pool import running
    from arena.hard_prompts import HARD_AT, label_battles
    from arena.store import Store

    if not args.judge:
        raise ArenaError("battles hard-prompts needs --judge MODEL, a configured model")
    config.model(args.judge)  # an unknown name is an error that lists the known ones
    store = Store(config.settings.db)

    async def run() -> dict[str, int]:
        async with running(config, [args.judge]) as pool:
            return await label_battles(
                store,
                pool.backend(args.judge),
                args.judge,
                limit=args.limit,
                retry=args.retry,
                say=lambda line: print(line, file=sys.stderr, flush=True),
            )

    try:
        done = asyncio.run(run())
    finally:
        store.close()
    print(
        f"{done['battles']:,} battle(s) labelled by {args.judge}: {done['hard']:,} hard "
        f"(at least {HARD_AT} of 7 criteria; tag:hard on the board), {done['unreadable']:,} "
        "answer(s) unreadable (--retry asks again)"
    )
    return 0
