"""``python run_arena.py COMMAND``: serve the arena, list models, print the leaderboard.

The ``leaderboard`` and ``models`` commands never import the web stack.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from arena.cli_board import leaderboard_command, voters_command
from arena.cli_data import battles_command, export_command
from arena.config import Config, load_config
from arena.errors import ArenaError
from arena.kinds import kinds_that
from ratings import RatingsError
from ratings.categories import category_forms
from ratings.methods import INTERVALS, METHODS

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

    models = commands.add_parser("models", help="list, check, serve or watch the configured models")
    models.add_argument(
        "action",
        nargs="?",
        choices=("list", "check", "serve", "status", "audit", "monitor"),
        default="list",
        help="list (default); check: ask each model a short prompt and report time to "
        "first token and tokens/s, exit 1 if any fails; serve: run only the model servers "
        "(vllm and local kinds, e.g. on a separate GPU host) and print their endpoints; "
        "status: each model's state in a running arena (--url; needs ARENA_ADMIN_TOKEN); "
        "audit NAME [--reference REF]: is NAME the model REF serves? (exit 0 consistent, "
        "3 different, 2 error; docs/audit.md); monitor NAME [--reference REF]: check "
        "NAME's battle answers against REF's answers to the same prompts now (no query "
        "to NAME; same exit codes). Both keep the verdict in the database for the board",
    )
    models.add_argument("name", nargs="?", help="audit, monitor: the configured model")
    models.add_argument(
        "--reference",
        help="audit, monitor: a configured model serving the claimed weights "
        "(default: NAME's audit_reference)",
    )
    models.add_argument(
        "--reference-samples", help="audit: the reference's answers saved by --save-reference"
    )
    models.add_argument("--save-reference", help="audit: save the reference's answers here")
    models.add_argument(
        "--queries", type=int, default=300, help="audit: most requests to the audited model"
    )
    models.add_argument("--seed", type=int, default=0, help="audit: prompts' order, permutations")
    models.add_argument(
        "--alpha",
        type=float,
        help="audit: false-positive rate, all tests together (0.01); monitor: of the check "
        "(the monitor_alpha setting, 0.001)",
    )
    models.add_argument("--config")
    models.add_argument("--db", help="audit, monitor: database URL (default: the config's)")
    models.add_argument("--format", choices=("table", "json"), default="table")
    models.add_argument(
        "--host",
        default="127.0.0.1",
        help="serve: address the model servers listen on (0.0.0.0 for other hosts)",
    )
    models.add_argument(
        "--url", default="http://127.0.0.1:7860", help="status: the running arena's address"
    )

    deploy = commands.add_parser(
        "deploy",
        help="print the nginx configuration for several arena processes",
        description="Print an nginx site that spreads voters over arena processes, each "
        "voter sticking to one by a first-party cookie (see docs/deploy.md).",
    )
    deploy.add_argument("server", choices=("nginx",), help="the balancer (nginx)")
    deploy.add_argument(
        "--replica",
        action="append",
        metavar="HOST:PORT",
        help="an arena process (repeat for each; default 127.0.0.1:7861 and :7862)",
    )
    deploy.add_argument("--listen", default="80", help="nginx's listen address (80)")

    export = commands.add_parser(
        "export",
        help="write the public release of the votes (export --public DIR)",
        description="Write a public release: anonymous, valid battles with both "
        "conversations scrubbed of personal data, no voter or address hashes, times "
        "rounded to the hour; Parquet and JSONL, the board and a dataset card "
        "(docs/release.md).",
    )
    export.add_argument("--public", metavar="DIR", help="the folder to write the release to")
    export.add_argument(
        "--delay-days", type=float, default=0, help="only votes at least this many days old (0)"
    )
    export.add_argument("--db", help="arena database URL (default: the configured one)")
    export.add_argument("--config", help="arena.toml, for the database URL and the licence")

    battles = commands.add_parser("battles", help="maintain the stored battles (battles languages)")
    battles.add_argument(
        "action",
        choices=("languages", "hard-prompts"),
        help="languages: detect the language of the first prompt of battles that have none; "
        "hard-prompts: a judge model labels voted battles' first prompts with LMArena's "
        "seven hard-prompt criteria (resumable; tag:hard on the board)",
    )
    battles.add_argument("--all", action="store_true", help="languages: redo every battle")
    battles.add_argument("--judge", help="hard-prompts: the configured model that judges")
    battles.add_argument(
        "--limit", type=int, default=0, help="hard-prompts: label at most this many (0: all)"
    )
    battles.add_argument(
        "--retry", action="store_true", help="hard-prompts: ask again where unreadable"
    )
    battles.add_argument("--db", help="arena database URL (default: the configured one)")
    battles.add_argument("--config", help="arena.toml, for the database URL")

    voters = commands.add_parser(
        "voters",
        help="report voters whose votes are improbable under the ratings",
        description="Test every voter's decisive votes against the current ratings "
        "(Fisher's method and an upset count; see docs/ratings.md) and list them, most "
        "anomalous first; then suspected campaigns: browsers and addresses whose votes lift "
        "one model over its neighbours far beyond the ratings (docs/ratings.md). Voters are "
        "shown by the first 12 characters of their keyed hash.",
    )
    voters.add_argument("--db", help="arena database URL (default: the configured one)")
    voters.add_argument("--config", help="arena.toml, for the database URL")
    voters.add_argument("--alpha", type=float, default=0.01, help="family-wise level (0.01)")
    voters.add_argument("--min-votes", type=int, default=10, help="test voters with this many")
    voters.add_argument(
        "--all", action="store_true", help="list every voter tested, not only flagged"
    )
    voters.add_argument(
        "--campaign-alpha", type=float, help="campaign screen's level (the configured one)"
    )
    voters.add_argument("--format", choices=("table", "json"), default="table")

    board = commands.add_parser(
        "leaderboard",
        help="print or write the leaderboard",
        description="Rank models from the arena database or a battle file. See docs/ratings.md.",
    )
    source = board.add_mutually_exclusive_group()
    source.add_argument("--db", help="arena database URL (default: the configured one)")
    source.add_argument("--battles", help="battle file: clean_battle JSON/JSONL, CSV or Parquet")
    board.add_argument("--config", help="arena.toml, for the database URL and model metadata")
    board.add_argument("--format", choices=("table", "csv", "json", "md", "html"), default="table")
    board.add_argument("--out", help="write to this file instead of standard output")
    board.add_argument("--method", choices=tuple(METHODS), default="bradley-terry")
    defaults = "; ".join(f"{m.default_interval} for {name}" for name, m in METHODS.items())
    board.add_argument(
        "--interval", choices=INTERVALS, help=f"interval method (default: {defaults})"
    )
    board.add_argument("--level", type=float, default=0.95, help="interval level (0.95)")
    board.add_argument(
        "--inverse-pair-weights",
        action="store_true",
        help="weight each battle by 1 / (battles of its pair): every pair counts alike",
    )
    board.add_argument("--rounds", type=int, default=100, help="bootstrap rounds (100)")
    board.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    board.add_argument(
        "--style",
        action="store_true",
        help="style control: hold answer length and markdown equal (Bradley-Terry only)",
    )
    board.add_argument("--anchor", metavar="MODEL=RATING", help="fix one model's rating")
    board.add_argument("--elo-k", type=float, default=4.0, help="K factor for --method elo")
    board.add_argument(
        "--include-named", action="store_true", help="count named (non-anonymous) battles too"
    )
    board.add_argument(
        "--include-invalid",
        action="store_true",
        help="count battles the arena flagged as invalid too",
    )
    board.add_argument(
        "--exclude-anomalous",
        action="store_true",
        help="leave out the votes of voters the `voters` report flags",
    )
    board.add_argument(
        "--exclude-campaigns",
        action="store_true",
        help="leave out the browsers and addresses the `voters` report lists as suspected "
        "campaigns (on by default where the arena's exclude_campaigns is set)",
    )
    board.add_argument(
        "--repeat-quantile",
        type=float,
        help="cap each prompt's battles at the count of the prompt at this quantile by "
        "frequency (default 0.999 for the arena database; 1 keeps every repeat; battle "
        "files: give it to read their prompts)",
    )
    board.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="MODEL",
        help="leave a model out (repeatable)",
    )
    board.add_argument(
        "--since", help="only battles at or after this time (ISO date/time or unix seconds)"
    )
    board.add_argument("--until", help="only battles before this time")
    board.add_argument("--category", help=f"one category: {category_forms()}")
    board.add_argument("--categories", action="store_true", help="a board for every category")
    board.add_argument(
        "--plots", metavar="DIR", help="write interval and heatmap plots (HTML) here"
    )
    board.add_argument("--tables", metavar="DIR", help="write pairwise tables (CSV) here")
    board.add_argument(
        "--verify",
        metavar="EXPORT",
        help="recompute EXPORT from the battles and say whether it matches",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        commands = {
            "serve": _serve,
            "models": _models,
            "voters": voters_command,
            "deploy": _deploy,
            "leaderboard": leaderboard_command,
            "export": export_command,
            "battles": battles_command,
        }
        return commands[args.command](args)
    except (ArenaError, RatingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


KEEP_ALIVE_S = 75  # nginx's own default for its clients


def _serve(args: argparse.Namespace) -> int:
    overrides = {"host": args.host, "port": args.port, "db": args.db}
    config = load_config(args.config, overrides=overrides)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    import uvicorn

    from arena.app import Arena
    from arena.bounds import head_limit, trust_proxies
    from arena.server import create_server

    settings = config.settings
    if settings.host in ("0.0.0.0", "::"):
        log.warning(
            "binding to all interfaces (%s) with no login: anyone who can reach this "
            "machine can use the arena; put it behind a proxy with authentication unless "
            "it is meant to be public",
            settings.host,
        )
    arena = Arena.create(config, overrides)
    log.info(
        "config: %s; database: %s; models: %s", config.source, settings.db, ", ".join(config.names)
    )
    print(f"Arena starting at http://{settings.host}:{settings.port}", flush=True)
    server = create_server(arena, served=True)
    # Keep a browser's connection open between its actions (reading an answer takes
    # longer than uvicorn's default 5 s): a request sent on a connection the server is
    # closing that moment fails, which a crowd turned into errors (bench/load.py).
    uvicorn.run(
        # The voter's address: the client's own, or what a trusted proxy says it is.
        trust_proxies(server, settings.trusted_proxies),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_keep_alive=KEEP_ALIVE_S,
        proxy_headers=False,  # trust_proxies does it ("*": the nearest hop only)
        **head_limit(settings.max_header_bytes),
    )
    return 0


def _deploy(args: argparse.Namespace) -> int:
    from arena.deploy import nginx_site

    print(nginx_site(args.replica or ["127.0.0.1:7861", "127.0.0.1:7862"], args.listen), end="")
    return 0


def _models(args: argparse.Namespace) -> int:
    if args.action == "status":
        return _status(args.url, args.format)
    config = load_config(args.config)
    if args.action == "check":
        return _check(config, args.format)
    if args.action in ("audit", "monitor"):
        from arena.cli_audit import audit_command, monitor_command

        return (audit_command if args.action == "audit" else monitor_command)(config, args)
    if args.action == "serve":
        return _serve_models(config, args.host)
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


def _check(config: Config, fmt: str) -> int:
    import asyncio

    from arena.backends.pool import ModelPool
    from arena.health import probe_models

    async def run() -> list[Any]:
        pool = ModelPool(config)
        await pool.start()
        try:
            return await probe_models(pool)
        finally:
            await pool.stop()

    probes = asyncio.run(run())
    if fmt == "json":
        from dataclasses import asdict

        print(json.dumps([asdict(p) for p in probes], indent=2))
    else:
        width = max(len(p.model) for p in probes)
        print(f"{'model'.ljust(width)}  status  first token  tokens/s")
        for p in probes:
            ttft = f"{p.ttft_s:.2f} s" if p.ttft_s is not None else "-"
            rate = f"{p.tokens_per_s:.1f}" if p.tokens_per_s is not None else "-"
            state = "ok" if p.ok else "FAILED"
            print(
                f"{p.model.ljust(width)}  {state:6}  {ttft:>11}  {rate:>8}"
                + (f"  {p.error}" if p.error else "")
            )
    return 0 if all(p.ok for p in probes) else 1


SERVED_KINDS = kinds_that("runs_server")


def _serve_models(config: Config, host: str) -> int:
    """Run the model servers of the vllm and local models until SIGINT/SIGTERM."""
    import asyncio
    import signal
    import socket
    from dataclasses import replace

    from arena.backends.pool import ModelPool

    served = tuple(m for m in config.models if m.kind in SERVED_KINDS)
    if not served:
        raise ArenaError(
            f"no models of kind {' or '.join(SERVED_KINDS)} in {config.source}; "
            "models serve runs only the servers the arena would start itself"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host

    async def run() -> int:
        pool = ModelPool(replace(config, models=served), bind_host=host)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await pool.start()
        try:
            if pool.failures:
                for name, why in pool.failures.items():
                    print(f"error: {name} did not start: {why}", file=sys.stderr)
                return 1
            print("# Model servers are up. For the web host's arena.toml:")
            for spec in served:
                backend = pool.backend(spec.name)
                url = str(getattr(backend, "_base_url", "")).replace(host, shown, 1)
                print(
                    f'\n[[models]]\nname = "{spec.name}"\nkind = "openai"\n'
                    f'base_url = "{url}"\nmodel = "{spec.name}"'
                    + (f'\norganization = "{spec.organization}"' if spec.organization else "")
                    + (f'\nlicense = "{spec.license}"' if spec.license else "")
                )
            print("\n# Serving until Ctrl-C.", flush=True)
            await stop.wait()
            return 0
        finally:
            await pool.stop()

    return asyncio.run(run())


def _status(url: str, fmt: str) -> int:
    """Each model's state in a running arena, from its admin API."""

    import httpx

    token = os.environ.get("ARENA_ADMIN_TOKEN", "")
    if not token:
        raise ArenaError("set ARENA_ADMIN_TOKEN to the running arena's admin token")
    try:
        response = httpx.get(
            url.rstrip("/") + "/api/admin/models",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        raise ArenaError(f"could not reach the arena at {url}: {exc}") from None
    if response.status_code != 200:
        raise ArenaError(
            f"the arena at {url} answered HTTP {response.status_code}: {response.text}"
        )
    rows = response.json()["models"]
    if fmt == "json":
        print(json.dumps(rows, indent=2))
        return 0
    columns = ["name", "kind", "state", "in_draw", "in_flight", "answers", "failures", "last_error"]
    table = [[str(r[c] if r[c] is not None else "-") for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in table)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in table:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    return 0
