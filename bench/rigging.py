"""Benchmark: what a model's owner who recognises their model can do to the board by
script, against the arena's real caps, flags and board, with and without the
campaign screen (issue 22).

    python bench/rigging.py [--models 60] [--honest 100000] [--budget 1000]
        [--browsers 100] [--addresses 10] [--accuracy 0.95]
        [--strategy target-only,omnipresent,slow] [--seed 0] [--json FILE]

Honest votes: ``../shared/bench/make_battles.py`` (Bradley–Terry truth on the Elo scale,
Davidson ties at 25%, a length bias, Zipf popularity of models, ~20 votes per voter),
each voter given an address (85% their own, the rest behind shared office addresses of
about ten voters), bulk-inserted into a real SQLite store as voted battles.

The attacker has ``--browsers`` browsers over ``--addresses`` addresses (browser k on
address k mod A), a solved proof of work, and recognises which side is the target with
probability ``--accuracy``. Every attacker vote goes through the vote path's admission
as ``Arena.vote`` runs it (arena/battles.py): the real :class:`Limits` (per-browser
and per-address 24-hour caps, counted in the store, on a simulated clock), the real
:meth:`ProofOfWork.missing` (the script renews its proof every ``proof_every`` votes),
and :meth:`Store.record_vote`; its battles' pairs are drawn uniformly, the arena's
default sampling. Not modelled: identity-leak flags (the battles carry no answer text),
the per-minute prompt limits (a battle per browser every two minutes stays under them).

Strategies (Min et al., ICML 2025):

- ``target-only``: play battles, vote only when the target is recognised, for it.
- ``omnipresent``: vote in every battle; with the target, for it; without it, for the
  side whose win raises the target's margin over the model just above it most, as the
  public board's covariance predicts (a linearised Bradley–Terry update); a battle it
  cannot read (1 - accuracy) gets a coin.
- ``slow``: the omnipresent rule, paced so that no browser or address ever reaches a
  tenth of its daily cap (never refused, spread over days).

The target is the mid-table model of the board before the attack. Rank is the position
by rating (1 + models rated above). Per strategy, with the screen off and on: the
target's rank and rating before and after ``--budget`` admitted votes, the half-width of
its 95% interval before, the fewest attacker votes that lift it by one rank (searched up
to 20x the budget; null when not reached), and the share of honest votes the board left
out. The board is ``arena.leaderboard.compute_leaderboard``'s (the battles the store
holds, read by ``battle_table``, fitted with ``board_settings`` of the arena's config);
the budgets searched are prefixes, in vote order, of one stream of admitted votes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

from arena.config import ArenaSettings, Config  # noqa: E402
from arena.errors import LimitError  # noqa: E402
from arena.integrity import Limits  # noqa: E402
from arena.integrity.proof import ProofOfWork  # noqa: E402
from arena.leaderboard import board_settings  # noqa: E402
from arena.store import BattleRecord, Store  # noqa: E402
from arena.store.battle_table import battle_table  # noqa: E402
from bench._crowd import (  # noqa: E402
    HONEST_DAYS,
    START,
    battle_row,
    bulk_insert,
    hashed,
    honest_rows,
    make_honest,
)
from ratings import BattleTable, build_leaderboard  # noqa: E402
from ratings.bradley_terry import PairCounts, fit_bradley_terry  # noqa: E402

STRATEGIES = ("target-only", "omnipresent", "slow")
SEARCH_LIMIT = 20  # votes_for_one_rank is searched up to this many times the budget


@dataclass(frozen=True)
class Attacker:
    """Who votes, how well it reads the battles, and how fast it goes."""

    browsers: int
    addresses: int
    accuracy: float
    gap_s: float  # simulated seconds between two vote attempts (all browsers together)
    salt: str  # each strategy's campaign has identities of its own

    def identity(self, attempt: int) -> tuple[str, str]:
        k = attempt % self.browsers
        return (
            hashed(f"{self.salt}-browser", k),
            hashed(f"{self.salt}-address", k % self.addresses),
        )


class Campaign:
    """One strategy's stream of attacker votes through the arena's vote admission.

    The first ``real`` votes go through the vote path (:meth:`_admit`); the rest of the
    stream, needed only to search for the votes that gain one rank, through
    :class:`CapReplica` (the same 24-hour counts kept in memory), which must agree with
    the real path on every attempt of the first part."""

    def __init__(
        self,
        store: Store,
        settings: ArenaSettings,
        models: tuple[str, ...],
        target: str,
        lift: np.ndarray,
        attacker: Attacker,
        strategy: str,
        seed: int,
    ) -> None:
        self.store, self.settings, self.models = store, settings, models
        self.target = models.index(target)
        self.lift = lift  # lift[i, j]: the target's margin gained when i beats j (> 0: good)
        self.attacker, self.strategy = attacker, strategy
        self.rng = np.random.default_rng(seed)
        self.clock = START + timedelta(days=HONEST_DAYS + 1)
        self.began = self.clock
        self.limits = Limits(store, clock=lambda: self.clock)
        self.replica = CapReplica(settings)
        self.cast: dict[str, int] = {}  # votes per browser: the script's proof renewals
        self.admitted = self.refused = self.attempts = 0
        self.later: list[dict[str, Any]] = []  # votes past the real part, stored in bulk

    def run(self, real: int, total: int) -> None:
        """Play battles until ``total`` attacker votes were admitted, the first ``real``
        of them through the vote path."""
        m = len(self.models)
        while self.admitted < total:
            a, b = (int(x) for x in self.rng.choice(m, 2, replace=False))
            winner = self._choose(a, b)
            if winner is None:
                continue  # target-only: no target recognised, the battle is left unvoted
            self.clock += timedelta(seconds=self.attacker.gap_s)
            browser, address = self.attacker.identity(self.attempts)
            self.attempts += 1
            row = battle_row(self.models[a], self.models[b], self.clock)
            row.update(voter_hash=browser, ip_hash=address)
            allowed = self.replica.admit(browser, address, self.clock)
            if self.admitted < real:
                if self._admit(row, winner) != allowed:
                    raise AssertionError("the cap replica disagrees with the vote path")
            elif allowed:
                row.update(state="voted", winner=winner, voted_at=self.clock)
                self.later.append(row)
            self.admitted += allowed
            self.refused += not allowed
        bulk_insert(self.store, self.later)

    def _choose(self, a: int, b: int) -> str | None:
        read = self.rng.random() < self.attacker.accuracy
        if self.target in (a, b):
            for_target = read  # misread: the other side taken for the target
            return "model_a" if (a == self.target) == for_target else "model_b"
        if self.strategy == "target-only":
            return None
        if not read:
            return "model_a" if self.rng.random() < 0.5 else "model_b"
        return "model_a" if self.lift[a, b] >= self.lift[b, a] else "model_b"

    def _admit(self, row: dict[str, Any], winner: str) -> bool:
        """What ``Arena.vote``'s ``record`` does, on the simulated clock: the caps, the
        proof (renewed every ``proof_every`` votes), the vote."""
        from sqlalchemy import update

        browser, address = row["voter_hash"], row["ip_hash"]
        self.store.add_battle(BattleRecord(**row))
        try:
            self.limits.vote(self.settings, browser, address)
        except LimitError:
            return False
        cast = self.cast.get(browser, 0)
        proof = cast - cast % self.settings.proof_every
        reason = ProofOfWork.missing(proof, cast, self.settings.proof_every)
        self.store.record_vote(row["id"], winner, browser, reason)
        with self.store.writing() as c:  # record_vote stamps the wall clock; ours is simulated
            c.execute(
                update(BattleRecord)
                .where(BattleRecord.id == row["id"])  # type: ignore[arg-type]
                .values(voted_at=self.clock)
            )
        self.cast[browser] = cast + 1
        return True


class CapReplica:
    """The daily caps of :meth:`Limits.vote` kept in memory: a vote is admitted when
    neither its browser nor its address cast its cap in the 24 hours before."""

    def __init__(self, settings: ArenaSettings) -> None:
        self.caps = {"browser": settings.votes_per_day, "address": settings.ip_votes_per_day}
        self.times: dict[tuple[str, str], list[datetime]] = {}

    def admit(self, browser: str, address: str, now: datetime) -> bool:
        keys = [("browser", browser), ("address", address)]
        since = now - timedelta(days=1)
        for key in keys:
            times = self.times.setdefault(key, [])
            while times and times[0] < since:
                times.pop(0)
            if self.caps[key[0]] > 0 and len(times) >= self.caps[key[0]]:
                return False
        for key in keys:
            self.times[key].append(now)
        return True


def margin_lift(table: BattleTable, target: str, rival: str) -> np.ndarray:
    """``lift[i, j]``: how much a win of i over j raises θ_target − θ_rival, by the
    public board's Fisher covariance Σ (one vote moves θ by Σ (e_i − e_j)(1 − p_ij))."""
    fit = fit_bradley_terry(PairCounts.from_table(table), interval="fisher")
    assert fit.cov is not None
    t, r = table.models.index(target), table.models.index(rival)
    c = fit.cov[t] - fit.cov[r]  # c[i]: the margin's change per unit of evidence for i
    p = 1 / (1 + np.exp(fit.theta[None, :] - fit.theta[:, None]))  # p[i, j] = P(i beats j)
    return (c[:, None] - c[None, :]) * (1 - p)


DEFENCES = {"off": {}, "on": {"exclude_campaigns": True}}  # ArenaSettings changes


@dataclass(frozen=True)
class Standing:
    rank: int  # 1 + models rated above the target
    board_rank: int  # the board's own rank: 1 + models whose lower bound is above its upper
    rating: float
    half_width: float
    excluded_honest: int


def standing(table: BattleTable, settings: Any, target: str, honest: np.ndarray) -> Standing:
    """The target's place on the board of ``table`` (``honest``: which rows are)."""
    board = build_leaderboard(table, settings)
    row = next(r for r in board.rows if r.model == target)
    above = sum(r.rating > row.rating for r in board.rows)
    excluded = np.zeros(len(table), dtype=bool)
    voter, address = table.column("voter"), table.column("address")
    for campaign in board.manifest.get("campaigns", []):
        assert voter is not None and address is not None
        excluded |= np.isin(voter.astype(str), campaign["browsers"])
        excluded |= np.isin(address.astype(str), campaign["addresses"])
    return Standing(
        1 + above, row.rank, row.rating, (row.upper - row.lower) / 2, int((excluded & honest).sum())
    )


def votes_for_one_rank(
    table: BattleTable,
    order: np.ndarray,
    settings: Any,
    target: str,
    before: int,
    limit: int,
    honest: np.ndarray,
) -> int | None:
    """The fewest attacker votes (a prefix of the stream, ``order``: each row's place in
    it, honest rows 0) that lift the target one rank: doubled until reached, then
    bisected to 2% (None: not within ``limit`` votes)."""

    def lifted(k: int) -> bool:
        mask = order <= k
        return standing(table.select(mask), settings, target, honest[mask]).rank < before

    low, high = 0, 8
    while not lifted(high):
        if high >= limit:
            return None
        low, high = high, min(2 * high, limit)
    while high - low > max(1, high // 50):
        mid = (low + high) // 2
        low, high = (low, mid) if lifted(mid) else (mid, high)
    return high


def run(args: argparse.Namespace, strategies: list[str], folder: Path) -> dict[str, Any]:
    """Every strategy's campaign in one store (identities of their own), then the boards."""
    honest = make_honest(args.models, args.honest, args.seed)
    settings = ArenaSettings(db=f"sqlite:///{folder / 'rigging.db'}")
    store = Store(settings.db)
    bulk_insert(store, honest_rows(honest["columns"]))
    base = battle_table(store)
    off = board_settings(Config(settings, (), "bench"))
    order = sorted(build_leaderboard(base, off).rows, key=lambda r: -r.rating)
    target, rival = order[len(order) // 2].model, order[len(order) // 2 - 1].model
    lift = margin_lift(base, target, rival)
    campaigns = {}
    for number, strategy in enumerate(strategies):
        gap = 86400 / (SEARCH_LIMIT * args.budget)  # as fast as the script goes
        if strategy == "slow":  # a tenth of every daily cap at most: never refused
            per_day = min(
                args.browsers * settings.votes_per_day, args.addresses * settings.ip_votes_per_day
            )
            gap = 86400 / (per_day / 10)
        attacker = Attacker(args.browsers, args.addresses, args.accuracy, gap, strategy)
        campaign = Campaign(
            store,
            settings,
            base.models,
            target,
            lift,
            attacker,
            strategy,
            args.seed + 1000 * (number + 1),
        )
        campaign.run(args.budget, SEARCH_LIMIT * args.budget)
        campaigns[strategy] = campaign
    table = battle_table(store)
    store.close()
    voters = table.column("voter")
    assert voters is not None
    voters = voters.astype(str)
    honest_mask = np.isin(voters, np.unique(honest["columns"]["voter"]))
    rows = []
    for strategy, campaign in campaigns.items():
        mine = np.isin(voters, [campaign.attacker.identity(k)[0] for k in range(args.browsers)])
        order = np.where(mine, np.cumsum(mine), 0)
        order[~mine & ~honest_mask] = np.iinfo(np.int64).max  # the other strategies' votes
        for name, changes in DEFENCES.items():
            s = board_settings(Config(replace(settings, **changes), (), "bench"))
            before = standing(table.select(honest_mask), s, target, honest_mask[honest_mask])
            at = order <= args.budget
            after = standing(table.select(at), s, target, honest_mask[at])
            limit = SEARCH_LIMIT * args.budget
            needed = votes_for_one_rank(table, order, s, target, before.rank, limit, honest_mask)
            rows.append(
                {
                    "strategy": strategy,
                    "defences": name,
                    "budget": args.budget,
                    "target": target,
                    "target_board_rank_before": before.board_rank,
                    "target_board_rank_after": after.board_rank,
                    "target_rank_before": before.rank,
                    "target_rank_after": after.rank,
                    "target_rating_before": round(before.rating, 2),
                    "target_rating_after": round(after.rating, 2),
                    "target_ci_half_width": round(before.half_width, 2),
                    "votes_for_one_rank": needed,
                    "honest_excluded_share": round(after.excluded_honest / honest_mask.sum(), 5),
                    "refused": campaign.refused,
                    "days": round((campaign.clock - campaign.began).total_seconds() / 86400, 1),
                }
            )
    boards = [
        {
            r.model: r.rating
            for r in build_leaderboard(
                table.select(honest_mask),
                board_settings(Config(replace(settings, **changes), (), "bench")),
            ).rows
        }
        for changes in DEFENCES.values()
    ]
    shift = float(np.mean([abs(boards[-1][m] - boards[0][m]) for m in boards[0]]))
    return {"rows": rows, "honest_shift": shift}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=60)
    parser.add_argument("--honest", type=int, default=100_000)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--browsers", type=int, default=100)
    parser.add_argument("--addresses", type=int, default=10)
    parser.add_argument("--accuracy", type=float, default=0.95)
    parser.add_argument("--strategy", default=",".join(STRATEGIES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    strategies = [s.strip() for s in args.strategy.split(",") if s.strip()]
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        parser.error(f"unknown strategy {', '.join(unknown)}; expected {', '.join(STRATEGIES)}")
    started = time.process_time()
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
        result = run(args, strategies, Path(tmp))
    print(
        f"{args.models} models, {args.honest:,} honest votes; attacker: {args.budget:,} votes, "
        f"{args.browsers} browsers, {args.addresses} addresses, recognition {args.accuracy:g}, "
        f"seed {args.seed}; target {result['rows'][0]['target']}"
    )
    print(
        f"{'strategy':12} {'defences':8} {'rank':>9} {'board rank':>10} {'rating':>15} "
        f"{'±95%':>6} {'1 rank needs':>12} {'honest out':>10} {'refused':>7} {'days':>5}"
    )
    for r in result["rows"]:
        need = r["votes_for_one_rank"]
        shown = f">{SEARCH_LIMIT * args.budget:,}" if need is None else f"{need:,}"
        board = f"{r['target_board_rank_before']} -> {r['target_board_rank_after']}"
        print(
            f"{r['strategy']:12} {r['defences']:8} "
            f"{r['target_rank_before']:>3} -> {r['target_rank_after']:<3} {board:>10} "
            f"{r['target_rating_before']:>6.1f} -> {r['target_rating_after']:<6.1f} "
            f"{r['target_ci_half_width']:>6.1f} {shown:>12} {r['honest_excluded_share']:>10.2%} "
            f"{r['refused']:>7} {r['days']:>5}"
        )
    print(
        f"honest board, no attack: mean |rating change| with the defences on "
        f"{result['honest_shift']:.2f} points; {time.process_time() - started:.0f} s of CPU"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
