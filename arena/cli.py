"""``python run_arena.py COMMAND``: serve the arena, list models, print the leaderboard.

The ``leaderboard`` and ``models`` commands never import the web stack.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from arena.config import Config, load_config
from arena.errors import ArenaError
from ratings import RatingsError

__all__ = ["main"]

log = logging.getLogger("arena")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_arena.py",
        description=("A self-hostable arena that ranks LLMs by blind pairwise human votes."),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the arena web app")
    serve.add_argument(
        "--config",
        help="arena.toml to read (default: ./arena.toml if present, else the embedded defaults)",
    )
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 7860)")
    serve.add_argument("--db", help="database URL (default sqlite:///arena.db)")

    models = commands.add_parser("models", help="list the configured models")
    models.add_argument("--config")
    models.add_argument("--format", choices=("table", "json"), default="table")

    board = commands.add_parser("leaderboard", help="print or write the leaderboard")
    source = board.add_mutually_exclusive_group()
    source.add_argument("--db", help="arena database URL (default: the configured one)")
    source.add_argument("--battles", help="battle file: clean_battle JSON/JSONL, CSV or Parquet")
    board.add_argument("--config", help="arena.toml, for the database URL and model metadata")
    board.add_argument("--format", choices=("table", "csv", "json", "md"), default="table")
    board.add_argument("--out", help="write to this file instead of standard output")
    board.add_argument(
        "--include-named", action="store_true", help="count named (non-anonymous) battles too"
    )
    board.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"serve": _serve, "models": _models, "leaderboard": _leaderboard}[args.command](args)
    except (ArenaError, RatingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    config = load_config(
        args.config, overrides={"host": args.host, "port": args.port, "db": args.db}
    )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    import uvicorn

    from arena.app import Arena
    from arena.server import create_server

    settings = config.settings
    if settings.host in ("0.0.0.0", "::"):
        log.warning(
            "binding to all interfaces (%s): anyone who can reach this machine can use the arena",
            settings.host,
        )
    arena = Arena.create(config)
    log.info(
        "config: %s; database: %s; models: %s", config.source, settings.db, ", ".join(config.names)
    )
    print(f"Arena starting at http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(create_server(arena), host=settings.host, port=settings.port, log_level="warning")
    return 0


def _models(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    rows = [{**m.public(), "endpoint": m.base_url or m.package or m.path} for m in config.models]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    columns = ["name", "kind", "organization", "license", "endpoint"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in columns))
    print(f"\n{len(rows)} models from {config.source}")
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    from ratings import Settings, build_leaderboard, read_battles, render

    settings = Settings(anony_only=not args.include_named, level=args.level)
    if args.battles:
        board = build_leaderboard(read_battles(args.battles), settings)
        board.manifest["source"] = str(args.battles)
    else:
        from arena.leaderboard import compute_leaderboard
        from arena.store import Store

        config: Config = load_config(args.config, overrides={"db": args.db})
        store = Store(config.settings.db)
        try:
            board = compute_leaderboard(store, config, settings)
        finally:
            store.close()
    text = render(board, args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
