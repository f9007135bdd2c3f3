"""The ``leaderboard`` and ``voters`` commands of ``run_arena.py``: ratings from the
arena database or a battle file. They never import the web stack."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from arena.config import Config, load_config
from arena.errors import ArenaError

__all__ = ["leaderboard_command", "voters_command"]


def _time(value: str | None) -> float | None:
    if value is None:
        return None
    from datetime import UTC, datetime

    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ArenaError(
            f"cannot read time {value!r}; use 2026-01-31, 2026-01-31T12:00 or unix seconds"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _anchor(value: str | None) -> tuple[str, float] | None:
    if not value:
        return None
    model, sep, rating = value.rpartition("=")
    try:
        number = float(rating)
    except ValueError:
        number = None
    if not sep or not model or number is None:
        raise ArenaError(f"--anchor {value!r}: expected MODEL=RATING, e.g. gpt-4=1200")
    return model, number


def leaderboard_command(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ratings import Settings, build_leaderboard, read_battles, render
    from ratings.leaderboard import category_boards

    settings = Settings(
        method=args.method,
        interval=args.interval,
        level=args.level,
        rounds=args.rounds,
        seed=args.seed,
        style=args.style,
        anchor=_anchor(args.anchor),
        anony_only=not args.include_named,
        include_invalid=args.include_invalid,
        exclude_anomalous=args.exclude_anomalous,
        exclude_campaigns=args.exclude_campaigns,
        repeat_quantile=0.999 if args.repeat_quantile is None else args.repeat_quantile,
        exclude=tuple(args.exclude),
        since=_time(args.since),
        until=_time(args.until),
        category=args.category,
        elo_k=args.elo_k,
        inverse_pair_weights=args.inverse_pair_weights,
    )
    metadata: dict[str, dict[str, Any]] = {}
    if args.battles:
        table = read_battles(
            args.battles,
            keep=None if args.verify else _columns_for(args),
            progress=sys.stderr.isatty(),
        )
        source = str(args.battles)
    else:
        config: Config = load_config(args.config, overrides={"db": args.db})
        metadata = {m.name: m.board() for m in config.models}
        settings = replace(
            settings,
            provisional_votes=config.settings.provisional_votes,
            provisional_width=config.settings.provisional_width,
            inverse_pair_weights=args.inverse_pair_weights or config.settings.inverse_pair_weights,
            exclude_campaigns=args.exclude_campaigns or config.settings.exclude_campaigns,
            campaign_alpha=config.settings.campaign_alpha,
        )
        table = _database_battles(config)
        source = "arena database"
    if args.verify:
        from ratings.verify import verify_export

        result = verify_export(args.verify, table)
        print(result.report())
        return 0 if result.matches else 1
    progress = sys.stderr.isatty()
    if args.categories:
        boards = category_boards(table, settings, metadata=metadata)
        text = _render_categories(boards, args.format)
    else:
        board = build_leaderboard(table, settings, metadata=metadata, progress=progress)
        board.manifest["source"] = source
        text = render(board, args.format)
        _extras(args, table, board, settings)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _database_battles(config: Config) -> Any:
    from arena.store import Store  # the database stack only for a database: a file needs none
    from arena.store.battle_table import battle_table

    store = Store(config.settings.db)
    try:
        return battle_table(store)
    finally:
        store.close()


def voters_command(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ratings import Settings
    from ratings.campaigns import suspected_campaigns
    from ratings.leaderboard import select_battles
    from ratings.voters import anomalous_voters

    config = load_config(args.config, overrides={"db": args.db})
    table = select_battles(_database_battles(config), Settings(repeat_quantile=1.0))
    scores = anomalous_voters(table, alpha=args.alpha, min_votes=args.min_votes)
    alpha = config.settings.campaign_alpha if args.campaign_alpha is None else args.campaign_alpha
    campaigns = suspected_campaigns(table, alpha=alpha, min_votes=args.min_votes)
    shown = [s for s in scores if s.flagged or args.all]
    flagged = sum(s.flagged for s in scores)
    if args.format == "json":
        report = {
            "tested": len(scores),
            "flagged": flagged,
            "voters": [asdict(s) for s in shown],
            "campaigns": [asdict(c) for c in campaigns],
            "campaign_alpha": alpha,
            "campaigns_excluded_from_board": config.settings.exclude_campaigns,
        }
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{len(scores)} voters with at least {args.min_votes} decisive votes tested; "
        f"{flagged} flagged at alpha {args.alpha:g} (Bonferroni)."
    )
    if shown:
        print(
            f"{'voter':12}  {'votes':>5}  {'upsets':>6}  {'Fisher X':>9}  {'p-value':>9}  flagged"
        )
        for s in shown:
            print(
                f"{s.voter[:12]:12}  {s.votes:>5}  {s.upsets:>6}  {s.statistic:>9.1f}  "
                f"{s.p_value:>9.2e}  {'yes' if s.flagged else ''}"
            )
    print(_campaign_lines(campaigns, alpha, config.settings.exclude_campaigns))
    return 0


def _campaign_lines(campaigns: list[Any], alpha: float, excluded: bool) -> str:
    """The suspected campaigns as the ``voters`` command prints them."""
    where = "left out of the board" if excluded else "counted on the board (exclude_campaigns off)"
    if not campaigns:
        return f"No suspected campaign at alpha {alpha:g}."
    lines = [f"{len(campaigns)} suspected campaign(s) at alpha {alpha:g}; their votes are {where}:"]
    lines.append(f"{'model':24}  {'browsers':>8}  {'addresses':>9}  {'votes':>6}  {'shift':>7}")
    for c in campaigns:
        lines.append(
            f"{c.model[:24]:24}  {len(c.browsers):>8}  {len(c.addresses):>9}  {c.votes:>6}  "
            f"{c.shift:>+7.1f}"
        )
        lines += [f"  browser {b[:12]}" for b in c.browsers]
        lines += [f"  address {a[:12]}" for a in c.addresses]
    return "\n".join(lines)


def _columns_for(args: argparse.Namespace) -> set[str]:
    """The optional battle columns these options use (reading fewer is quicker)."""
    from ratings.io import OPTIONAL_COLUMNS

    keep = {"anony", "valid", "cluster"}  # cluster: a release's near-duplicates are capped
    if args.since or args.until or args.method == "elo":
        keep.add("tstamp")
    if args.style:
        keep |= {c for c in OPTIONAL_COLUMNS if c[-2:] in ("_a", "_b")}
    if args.category or args.categories:
        keep |= {"language", "turn", "tags", "prompt"}
    if args.repeat_quantile is not None and args.repeat_quantile < 1:
        keep.add("prompt")
    return keep


def _render_categories(boards: dict[str, Any], fmt: str) -> str:
    from ratings import render

    if fmt == "json":
        return (
            json.dumps({"categories": {k: b.to_dict() for k, b in boards.items()}}, indent=2) + "\n"
        )
    if not boards:
        return "No categories: these battles carry no language, prompt, turn or tag columns.\n"
    return "\n".join(f"== {name} ==\n{render(b, fmt)}" for name, b in boards.items())


def _extras(args: argparse.Namespace, table: Any, board: Any, settings: Any) -> None:
    if not (args.plots or args.tables) or not board.rows:
        return
    from ratings.leaderboard import select_battles
    from ratings.tables import pair_tables, write_tables

    tables = pair_tables(select_battles(table, settings), board)
    written = []
    if args.tables:
        written += write_tables(tables, args.tables)
    if args.plots:
        from ratings.plots import write_plots

        written += write_plots(board, tables, args.plots)
    print("wrote " + ", ".join(written), file=sys.stderr)
